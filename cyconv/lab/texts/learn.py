"""The texts of "see it learn": the timeline, two runs side by side and the network doctor:
key -> (English, Korean)."""

TEXTS: dict[str, tuple[str, str]] = {
    # tabs
    "tab.timeline": ("Timeline", "타임라인"),
    "tab.compare": ("Compare runs", "학습 비교"),
    "tab.doctor": ("Doctor", "신경망 진단"),
    "tip.timeline": ("Scrub back through the run: filters, probe activations, confusion and metrics as they were",
                     "학습을 되감아 보기: 그때의 필터, 탐침 활성화, 혼동 행렬과 지표"),
    "tip.compare": ("Keep a run, change one thing, train again and see both", "학습 하나를 보관하고, 하나만 바꿔 다시 학습해 둘을 비교"),
    "tip.doctor": ("Per layer: gradient norm, update-to-weight ratio, dead ReLUs, histograms; diagnoses",
                   "층별 기울기 노름, 갱신/가중치 비율, 죽은 ReLU, 히스토그램과 진단"),
    # timeline
    "timeline.play": ("Play", "재생"),
    "timeline.pause": ("Pause", "멈춤"),
    "timeline.gif": ("Save filters as GIF…", "필터 변화를 GIF로 저장…"),
    "timeline.empty": ("Nothing recorded yet: train a few steps.", "아직 기록이 없습니다: 몇 단계 학습하세요."),
    "timeline.moment": ("Step {step} ({index} of {count} recorded moments): training loss {loss:.4f}, probe accuracy "
                        "{accuracy:.1%} on {probe} images", "{step}단계 (기록 {count}개 중 {index}번째): 학습 손실 {loss:.4f}, "
                        "탐침 이미지 {probe}개 정확도 {accuracy:.1%}"),
    "timeline.filters": ("Filters of {layer}", "{layer}의 필터"),
    "timeline.activations": ("{layer} on probe image 1", "탐침 이미지 1의 {layer}"),
    "timeline.confusion": ("Confusion on the probe batch (rows: true, columns: predicted)",
                           "탐침 묶음의 혼동 행렬 (행: 정답, 열: 예측)"),
    "timeline.gif_saved": ("Wrote {path} ({frames} frames)", "{path}에 저장했습니다 ({frames}장)"),
    "timeline.no_history": ("There is no recorded history yet: train a few steps first.",
                            "아직 기록된 학습 과정이 없습니다: 먼저 몇 단계 학습하세요."),
    "timeline.no_filters": ("This network has no conv layer, so there are no filters to animate.",
                            "이 신경망에는 합성곱 층이 없어서 움직일 필터가 없습니다."),
    # compare
    "compare.keep": ("Keep this run", "이 학습 보관"),
    "compare.refresh": ("Compare with the current run", "현재 학습과 비교"),
    "compare.hint": ("Keep a finished run, change one thing (learning rate, optimizer, initialisation, activation, batch "
                     "size), train again from the same seed, then compare.",
                     "끝난 학습을 보관하고, 하나만 바꿔서(학습률, 옵티마이저, 초기화, 활성화 함수, 배치 크기) 같은 시드로 "
                     "다시 학습한 뒤 비교하세요."),
    "compare.nothing_kept": ("No run is kept yet: train one and press Keep this run.",
                             "보관한 학습이 없습니다: 학습한 뒤 '이 학습 보관'을 누르세요."),
    "compare.kept": ("Kept {label}: {steps} steps, accuracy {accuracy:.1%}.", "{label} 보관: {steps}단계, 정확도 {accuracy:.1%}."),
    "compare.differs": ("What differed: {changes}", "달라진 점: {changes}"),
    "compare.same": ("The two runs have the same settings and network.", "두 학습의 설정과 신경망이 같습니다."),
    "compare.change": ("{what} {before} → {after}", "{what} {before} → {after}"),
    "compare.run": ("{label}: {steps} steps, accuracy {accuracy:.1%}", "{label}: {steps}단계, 정확도 {accuracy:.1%}"),
    "compare.kept_label": ("kept run", "보관한 학습"),
    "compare.current_label": ("current run", "현재 학습"),
    "compare.what_if_label": ("same run, one change", "하나만 바꾼 학습"),
    "compare.loss": ("Training loss", "학습 손실"),
    "compare.step": ("Step", "단계"),
    # doctor
    "doctor.refresh": ("Examine the run", "지금 진단"),
    "doctor.break": ("Break it:", "망가뜨려 보기:"),
    "doctor.break.lr_x100": ("Learning rate ×100", "학습률 ×100"),
    "doctor.break.deep_sigmoid": ("Deep sigmoid stack", "깊은 시그모이드 층"),
    "doctor.break.zero_init": ("All-zero initialisation", "모두 0으로 초기화"),
    "doctor.break.huge_init": ("Huge initial scale", "아주 큰 초기값"),
    "doctor.experiment": ("Experiment “{name}” ({steps} steps, lr {lr:g}): the doctor says:",
                          "실험 “{name}” ({steps}단계, 학습률 {lr:g}): 진단 결과:"),
    "doctor.current": ("This run at step {step}: the doctor says:", "현재 학습 {step}단계: 진단 결과:"),
    "doctor.nothing": ("Nothing to examine yet: train a few steps.", "아직 진단할 것이 없습니다: 몇 단계 학습하세요."),
    "doctor.table.layer": ("Layer", "층"),
    "doctor.table.grad": ("Gradient norm", "기울기 노름"),
    "doctor.table.ratio": ("Update / weight", "갱신 / 가중치"),
    "doctor.table.dead": ("Never fired", "한 번도 안 켜짐"),
    "doctor.hist.weights": ("Weights of {layer}", "{layer}의 가중치"),
    "doctor.hist.gradients": ("Gradients of {layer}", "{layer}의 기울기"),
    "doctor.hist.activations": ("Activations of {layer}", "{layer}의 활성화"),
    "doctor.over_time": ("Update-to-weight ratio over time (rule of thumb ~1e-3)", "시간에 따른 갱신/가중치 비율 (경험칙 약 1e-3)"),
    "doctor.over_time_grad": ("Gradient norm over time", "시간에 따른 기울기 노름"),
    "compare.what_if": ("What if: learning rate ×10", "만약에: 학습률 ×10"),
    "doctor.divergence": ("Divergence: the loss went from {first:.3g} up to {peak:.3g} and {layer}'s updates reached "
                          "{ratio:.1e} of its weights (rule of thumb ~{rule:.0e}): the learning rate is too high; divide it "
                          "by 10.",
                          "발산: 손실이 {first:.3g}에서 {peak:.3g}까지 올랐고 {layer}의 갱신이 가중치의 {ratio:.1e}에 "
                          "이르렀습니다 (경험칙 약 {rule:.0e}): 학습률이 너무 큽니다. 10으로 나누세요."),
    "doctor.divergence_stopped": ("Divergence: training had to stop ({reason}). The learning rate is too high; divide it "
                                  "by 10.", "발산: 학습을 멈춰야 했습니다 ({reason}). 학습률이 너무 큽니다. 10으로 나누세요."),
    "doctor.symmetry": ("Symmetry: all {units} units of {layer} are identical (spread {spread:.1e}): they get the same "
                        "gradient and never become different. Start from random weights, not a constant.",
                        "대칭: {layer}의 유닛 {units}개가 모두 같습니다 (차이 {spread:.1e}): 같은 기울기를 받아 영영 달라지지 "
                        "않습니다. 상수가 아닌 무작위 가중치로 시작하세요."),
    "doctor.dead_relu": ("Dead ReLUs: {share:.0%} of {layer}'s units never fired on {probe} probe images, so no "
                         "gradient flows through them. Lower the initial scale or the learning rate (or try LeakyReLU).",
                         "죽은 ReLU: {layer}의 유닛 {share:.0%}가 탐침 이미지 {probe}개에서 한 번도 켜지지 않아 기울기가 "
                         "흐르지 않습니다. 초기값 크기나 학습률을 줄이세요 (또는 LeakyReLU)."),
    "doctor.vanishing": ("Vanishing gradients: {first}'s gradient ({first_norm:.1e}) is {factor:,.0f}× smaller than "
                         "{last}'s ({last_norm:.1e}); the first layers barely learn.",
                         "기울기 소실: {first}의 기울기({first_norm:.1e})가 {last}의 기울기({last_norm:.1e})보다 "
                         "{factor:,.0f}배 작습니다. 앞쪽 층이 거의 배우지 못합니다."),
    "doctor.vanishing_saturating": ("Vanishing gradients: {first}'s gradient ({first_norm:.1e}) is {factor:,.0f}× "
                                    "smaller than {last}'s ({last_norm:.1e}). Each of the {count} {activation} layers "
                                    "passes back only {gain:.2f} of the gradient on average ({activation} saturates: its "
                                    "slope is at most 0.25, and {saturated:.0%} of its outputs are in the flat part): "
                                    "try ReLU.",
                                    "기울기 소실: {first}의 기울기({first_norm:.1e})가 {last}의 기울기({last_norm:.1e})보다 "
                                    "{factor:,.0f}배 작습니다. {activation} 층 {count}개가 각각 기울기의 평균 {gain:.2f}만 "
                                    "뒤로 전합니다 ({activation}은(는) 포화됩니다: 기울기가 많아야 0.25이고 출력의 "
                                    "{saturated:.0%}가 평평한 구간에 있습니다): ReLU를 써 보세요."),
    "doctor.lr_too_low": ("Learning rate too low: {layer}'s updates are only {ratio:.1e} of its weights (rule of thumb "
                          "~{rule:.0e}); multiply it by 10.",
                          "학습률이 너무 작음: {layer}의 갱신이 가중치의 {ratio:.1e}뿐입니다 (경험칙 약 {rule:.0e}). 10을 "
                          "곱하세요."),
    "doctor.healthy": ("Healthy: updates {low:.1e}–{high:.1e} of the weights (rule of thumb ~{rule:.0e}), gradient norms "
                       "within {spread:,.0f}× of each other, at most {dead:.0%} of a ReLU layer never fired.",
                       "건강함: 갱신이 가중치의 {low:.1e}–{high:.1e} (경험칙 약 {rule:.0e}), 기울기 노름 차이 {spread:,.0f}배 "
                       "이내, ReLU 층에서 한 번도 안 켜진 유닛은 많아야 {dead:.0%}."),
}
