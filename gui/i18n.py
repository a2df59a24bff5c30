"""English and Korean texts of the lab, switchable at run time.

A plain dict instead of Qt's .ts/.qm toolchain: the app has a few hundred strings and two
languages, and a dict needs no build step. `tr(key)` raises KeyError for an unknown key, so a
missing text fails loudly in the tests rather than showing a key on screen.

The Korean terms and definitions follow the seed documents (seeds/000: 채널, 필터, 커널,
스트라이드, 패딩, 피처 맵, 액티베이션 맵, 풀링).
"""
from __future__ import annotations

LANGUAGES = {"en": "English", "ko": "한국어"}
_current = "en"

# key -> (English, Korean)
TEXTS: dict[str, tuple[str, str]] = {
    # window, menus
    "app.title": ("cyconv lab", "cyconv 실습실"),
    "menu.file": ("&File", "파일(&F)"),
    "menu.language": ("&Language", "언어(&L)"),
    "action.save_model": ("Save model and session…", "모델과 세션 저장…"),
    "action.load_model": ("Load model and session…", "모델과 세션 불러오기…"),
    "action.export_png": ("Export views as PNG…", "화면을 PNG로 내보내기…"),
    "action.quit": ("Quit", "끝내기"),
    "dialog.error": ("cyconv lab: problem", "cyconv 실습실: 문제"),
    "dialog.saved": ("Saved to {path}", "{path}에 저장했습니다"),
    "dialog.exported": ("Wrote {count} PNG files to {path}", "{path}에 PNG 파일 {count}개를 썼습니다"),
    "io.no_model": ("There is no model to save yet: start or step a run first.",
                    "아직 저장할 모델이 없습니다: 먼저 학습을 시작하거나 한 단계 실행하세요."),
    "gc.no_model": ("The gradient check needs a model and data: start or step a run first.",
                    "기울기 검사에는 모델과 데이터가 필요합니다: 먼저 학습을 시작하거나 한 단계 실행하세요."),
    "draw.no_model": ("There is no trained network yet: start or step a run first.",
                      "아직 학습된 네트워크가 없습니다: 먼저 학습을 시작하거나 한 단계 실행하세요."),
    "io.busy": ("Stop training before loading a model.", "모델을 불러오기 전에 학습을 멈추세요."),
    # tabs
    "tab.shapes": ("Shapes", "형상"),
    "tab.curves": ("Curves", "학습 곡선"),
    "tab.filters": ("Filters", "필터"),
    "tab.activations": ("Activations", "활성화 맵"),
    "tab.predictions": ("Predictions", "예측"),
    "tab.conv_explainer": ("Conv steps", "합성곱 단계"),
    "tab.pool_explainer": ("Pool steps", "풀링 단계"),
    "tab.gradcheck": ("Grad check", "기울기 검사"),
    "tab.draw": ("Draw", "그리기"),
    "tip.conv_explainer": ("Convolution step by step on small worked examples: every multiply-add, with stride "
                           "and padding.", "작은 예제의 숫자로 합성곱을 단계별로: 모든 곱셈-덧셈, 스트라이드와 패딩."),
    "tip.pool_explainer": ("Max, average and min pooling step by step.", "최대, 평균, 최소 풀링을 단계별로."),
    # model editor
    "model.group": ("Model", "모델"),
    "model.preset": ("Preset:", "프리셋:"),
    "model.custom": ("(custom)", "(직접 구성)"),
    "model.input": ("Input C×H×W:", "입력 C×H×W:"),
    "model.add": ("Add layer", "레이어 추가"),
    "model.remove": ("Remove", "삭제"),
    "model.up": ("Up", "위로"),
    "model.down": ("Down", "아래로"),
    "model.col.type": ("Type", "종류"),
    "model.col.units": ("Filters/units", "필터/유닛"),
    "model.col.kernel": ("Kernel", "커널"),
    "model.col.stride": ("Stride", "스트라이드"),
    "model.col.padding": ("Padding", "패딩"),
    "model.col.mode": ("Mode", "패딩 방식"),
    "model.col.extra": ("Extra", "기타"),
    "model.valid": ("Network is valid: {layers} layers, {params} parameters.",
                    "유효한 네트워크: 레이어 {layers}개, 파라미터 {params}개."),
    "model.invalid": ("Layer {index} ({name}): {reason}", "레이어 {index} ({name}): {reason}"),
    "model.for_shapes_only": ("{name} is shown for its shapes only: too large to train here.",
                              "{name}은(는) 형상 확인용입니다: 여기서 학습하기에는 너무 큽니다."),
    # shape table
    "shapes.col.layer": ("Layer", "레이어"),
    "shapes.col.input": ("Input (C, H, W)", "입력 (C, H, W)"),
    "shapes.col.output": ("Output (C, H, W)", "출력 (C, H, W)"),
    "shapes.col.formula": ("Formula", "계산식"),
    "shapes.col.params": ("Parameters (weights + biases)", "파라미터 (가중치 + 편향)"),
    "shapes.col.share": ("Share", "비율"),
    "shapes.col.macs": ("Multiply-adds", "곱셈-덧셈"),
    "shapes.col.note": ("Note", "비고"),
    "shapes.total": ("Total", "합계"),
    "shapes.compare": ("Dense-only network with the same input and output: {dense} parameters "
                       "(hidden widths {widths}); this CNN: {cnn} ({ratio} of it).",
                       "같은 입력과 출력의 완전연결 신경망: 파라미터 {dense}개 (은닉층 {widths}); "
                       "이 CNN: {cnn}개 (그 {ratio})."),
    "shapes.compare.widths": ("Dense-only hidden widths:", "완전연결 은닉층 폭:"),
    "shapes.failed": ("Stops at layer {index}: {reason}", "레이어 {index}에서 멈춤: {reason}"),
    # training controls
    "train.group": ("Training", "학습"),
    "train.dataset": ("Dataset:", "데이터셋:"),
    "dataset.synthetic": ("Synthetic shapes (28×28)", "합성 도형 (28×28)"),
    "dataset.synthetic_rgb": ("Synthetic shapes RGB (32×32)", "합성 도형 RGB (32×32)"),
    "dataset.mnist": ("MNIST handwritten digits", "MNIST 손글씨 숫자"),
    "dataset.fashion_mnist": ("Fashion-MNIST clothing", "Fashion-MNIST 의류"),
    "dataset.cifar10": ("CIFAR-10 photos", "CIFAR-10 사진"),
    "dataset.digits": ("Digits (8×8, scikit-learn)", "숫자 (8×8, scikit-learn)"),
    "dataset.folder": ("Image folder", "이미지 폴더"),
    "train.samples": ("Samples (synthetic):", "샘플 수 (합성):"),
    "train.optimizer": ("Optimizer:", "옵티마이저:"),
    "train.lr": ("Learning rate:", "학습률:"),
    "train.momentum": ("Momentum:", "모멘텀:"),
    "train.batch": ("Batch size:", "배치 크기:"),
    "train.epochs": ("Epochs:", "에폭:"),
    "train.seed": ("Seed:", "시드:"),
    "train.start": ("Start", "시작"),
    "train.pause": ("Pause", "일시정지"),
    "train.resume": ("Resume", "재개"),
    "train.step": ("Step", "한 단계"),
    "train.stop": ("Stop", "정지"),
    "train.reset": ("Reset", "초기화"),
    "train.idle": ("Ready.", "준비됨."),
    "train.running": ("Training…", "학습 중…"),
    "train.paused": ("Paused.", "일시정지됨."),
    "train.done": ("Finished.", "완료."),
    "train.stopped": ("Stopped.", "정지됨."),
    "train.failed": ("Training failed: {reason}", "학습 실패: {reason}"),
    "train.progress": ("epoch {epoch}/{epochs} · step {step}/{total} · {rate:.1f} steps/s · ETA {eta}",
                       "에폭 {epoch}/{epochs} · 단계 {step}/{total} · 초당 {rate:.1f}단계 · 남은 시간 {eta}"),
    "train.metrics": ("loss {loss:.4f} · accuracy {accuracy:.1%} · lr {lr:g}",
                      "손실 {loss:.4f} · 정확도 {accuracy:.1%} · 학습률 {lr:g}"),
    "train.folder_missing": ("Choose an image folder (one sub-folder per class) first.",
                             "먼저 이미지 폴더(클래스마다 하위 폴더 하나)를 고르세요."),
    "train.choose_folder": ("Folder…", "폴더…"),
    "train.eval_samples": ("Evaluation samples:", "평가 샘플 수:"),
    "train.loading": ("Loading data and building the network…", "데이터를 읽고 네트워크를 만드는 중…"),
    "train.unavailable": ("{name} (not installed)", "{name} (설치되지 않음)"),
    "bad.batch": ("Batch size must be at least 1 (got {value}).", "배치 크기는 1 이상이어야 합니다 ({value})."),
    "bad.lr": ("Learning rate must be a positive number (got {value}).",
               "학습률은 양수여야 합니다 ({value})."),
    "bad.momentum": ("Momentum must be in [0, 1) (got {value}).", "모멘텀은 [0, 1) 범위여야 합니다 ({value})."),
    "bad.epochs": ("Epochs must be at least 1 (got {value}).", "에폭은 1 이상이어야 합니다 ({value})."),
    "bad.model": ("The network is not valid: {reason}", "네트워크가 유효하지 않습니다: {reason}"),
    "bad.data_shape": ("The dataset gives samples of shape {data}, the network expects {model}.",
                       "데이터셋 샘플 형상은 {data}인데 네트워크 입력은 {model}입니다."),
    "bad.classes": ("The dataset has {data} classes, the network outputs {model}.",
                    "데이터셋의 클래스는 {data}개인데 네트워크 출력은 {model}개입니다."),
    # curves
    "curves.loss": ("Loss", "손실"),
    "curves.accuracy": ("Accuracy", "정확도"),
    "curves.step": ("Step", "단계"),
    "curves.train_loss": ("train loss (smoothed)", "학습 손실 (평활)"),
    "curves.train_acc": ("train accuracy (smoothed)", "학습 정확도 (평활)"),
    "curves.val_loss": ("validation loss", "검증 손실"),
    "curves.val_acc": ("validation accuracy", "검증 정확도"),
    "curves.smoothing": ("Smoothing:", "평활:"),
    "curves.epoch": ("epoch {n}", "에폭 {n}"),
    "curves.lr": ("lr {old} → {new}", "학습률 {old} → {new}"),
    # filters / activations
    "filters.none": ("No conv layer yet: start or step training, or pick a preset.",
                     "아직 합성곱 레이어가 없습니다: 학습을 시작하거나 프리셋을 고르세요."),
    "filters.caption": ("{name}: {f} filters × {c} input channels, {kh}×{kw}{capped}",
                        "{name}: 필터 {f}개 × 입력 채널 {c}개, {kh}×{kw}{capped}"),
    "filters.layer": ("Layer:", "레이어:"),
    "filters.hover": ("filter {f}, input channel {c}, weight ({row}, {col}): {value}",
                      "필터 {f}, 입력 채널 {c}, 가중치 ({row}, {col}): {value}"),
    "filters.filter": ("Filter:", "필터:"),
    "filters.channel": ("Input channel:", "입력 채널:"),
    "filters.axis.filter": ("filter", "필터"),
    "filters.axis.channel": ("input channel", "입력 채널"),
    "filters.channels": ("Filter {f}: its {c} input channels ({shown} shown; click one)",
                         "필터 {f}: 입력 채널 {c}개 ({shown}개 표시; 눌러서 선택)"),
    "filters.kernel": ("Filter {f}, input channel {c}: {kh}×{kw} weights (blue negative, white 0, red positive)",
                       "필터 {f}, 입력 채널 {c}: {kh}×{kw} 가중치 (파랑 음수, 흰색 0, 빨강 양수)"),
    "filters.capped": (" (first {f} × {c} shown)", " (앞의 {f} × {c}개 표시)"),
    "act.sample": ("Sample:", "샘플:"),
    "act.zoom": ("Zoom:", "확대:"),
    "act.hover": ("channel {channel}, pixel ({row}, {col}): {value}", "채널 {channel}, 픽셀 ({row}, {col}): {value}"),
    "act.softmax": ("<b>softmax</b>: class probabilities; the dark bar is the prediction",
                    "<b>소프트맥스</b>: 클래스 확률; 진한 막대가 예측"),
    "act.zoom.tip": ("Size of the maps; the mouse wheel scrolls the page.",
                     "맵의 크기; 마우스 휠은 페이지를 스크롤합니다."),
    "act.zoom.reset": ("Reset zoom", "확대 초기화"),
    "act.channels_hint": (" — the number on each map is its channel; the colour bar gives the values",
                          " — 맵마다 적힌 숫자는 채널 번호, 색 막대는 값"),
    "act.none": ("Activations appear once the network has run on a sample.",
                 "네트워크가 샘플을 처리하면 활성화 맵이 나타납니다."),
    "act.kind.input": ("input image", "입력 이미지"),
    "act.kind.feature_map": ("feature map (before activation)", "피처 맵 (활성 함수 전)"),
    "act.kind.activation_map": ("activation map (after activation)", "액티베이션 맵 (활성 함수 후)"),
    "act.kind.pooled": ("pooled map", "풀링 결과"),
    "act.kind.normalized": ("normalized map (LRN)", "정규화 맵 (LRN)"),
    "act.kind.dropout": ("after dropout (identity at test time)", "드롭아웃 후 (평가 때는 그대로)"),
    "act.kind.vector": ("vector", "벡터"),
    "act.kind.probabilities": ("class probabilities", "클래스 확률"),
    "act.kind.activation": ("after activation", "활성 함수 후"),
    "act.kind.logits": ("scores (logits)", "점수 (로짓)"),
    "act.click": ("Click a pixel of a feature map to see how the current weights computed it.",
                  "피처 맵의 픽셀을 누르면 현재 가중치로 어떻게 계산됐는지 볼 수 있습니다."),
    "act.prediction": ("Prediction: {label} ({confidence:.1%}); true label: {true}",
                       "예측: {label} ({confidence:.1%}); 정답: {true}"),
    # live step-through
    "live.title": ("{layer}, filter {f}, output ({row}, {col})", "{layer}, 필터 {f}, 출력 ({row}, {col})"),
    "live.channel": ("Input channel:", "입력 채널:"),
    "live.partials": ("Sum over {c} channels: {parts} + bias {bias} = {value}",
                      "채널 {c}개의 합: {parts} + 편향 {bias} = {value}"),
    "live.engine": ("engine's value {engine}; by hand {manual}", "엔진의 값 {engine}; 손으로 계산 {manual}"),
    # predictions
    "pred.confusion": ("Confusion matrix (rows: true class, columns: predicted)",
                       "혼동 행렬 (행: 정답 클래스, 열: 예측)"),
    "pred.per_class": ("Per-class accuracy", "클래스별 정확도"),
    "pred.mistakes": ("Misclassified, most confident first (click one to see its activations)",
                      "잘못 분류된 샘플, 확신이 큰 순서 (누르면 활성화 맵을 봅니다)"),
    "pred.none": ("Predictions appear after the first evaluation.", "첫 평가가 끝나면 예측이 나타납니다."),
    "pred.cell": ("true {true} → predicted {pred}: {count} samples", "정답 {true} → 예측 {pred}: {count}개"),
    "pred.thumb": ("{true} → {pred}, {confidence:.0%}", "{true} → {pred}, {confidence:.0%}"),
    "pred.cell_tip": ("true {true} → predicted {pred}: {count} samples ({share:.0%} of {true})",
                      "정답 {true} → 예측 {pred}: {count}개 ({true}의 {share:.0%})"),
    "pred.axis.predicted": ("predicted class", "예측 클래스"),
    "pred.axis.true": ("true class", "정답 클래스"),
    "pred.accuracy": ("validation accuracy {accuracy:.1%} on {n} samples",
                      "검증 정확도 {accuracy:.1%} (샘플 {n}개)"),
    # explainers
    "ex.example": ("Example:", "예제:"),
    "ex.input_4x4_filter_2x2": ("4×4 input, 2×2 filter", "4×4 입력, 2×2 필터"),
    "ex.binary_5x5_filter_3x3": ("5×5 binary image, 3×3 filter", "5×5 이진 이미지, 3×3 필터"),
    "ex.input_4x4": ("4×4 input", "4×4 입력"),
    "ex.fmap_4x4": ("4×4 feature map with negatives", "음수가 있는 4×4 피처 맵"),
    "ex.stride": ("Stride:", "스트라이드:"),
    "ex.padding": ("Padding:", "패딩:"),
    "ex.mode": ("Padding mode:", "패딩 방식:"),
    "ex.pool_kind": ("Pooling:", "풀링:"),
    "ex.pool_size": ("Pool size:", "풀 크기:"),
    "ex.prev": ("◀ Previous", "◀ 이전"),
    "ex.next": ("Next ▶", "다음 ▶"),
    "ex.play": ("Play", "재생"),
    "ex.stop": ("Stop", "멈춤"),
    "ex.first": ("Restart", "처음부터"),
    "ex.input": ("Input (padded)", "입력 (패딩 포함)"),
    "ex.input_plain": ("Input", "입력"),
    "ex.filter": ("Filter", "필터"),
    "ex.output": ("Output", "출력"),
    "ex.step": ("Step {index} of {total}: output ({row}, {col})", "{total}단계 중 {index}단계: 출력 ({row}, {col})"),
    "ex.mode.zeros": ("zeros", "0으로 채우기"),
    "ex.mode.replicate": ("replicate (edge-filling \"same padding\")", "가장자리 값 복제 (가장자리로 채우는 \"same padding\")"),
    "ex.mode.reflect": ("reflect", "반사"),
    "ex.mode.circular": ("circular", "순환"),
    "ex.kind.max": ("max", "최대"),
    "ex.kind.avg": ("average", "평균"),
    "ex.kind.min": ("min", "최소"),
    "ex.same_note": ("Two meanings of \"same\": Keras/PyTorch padding=\"same\" chooses the padding so the output "
                     "has size ceil(H / S); some course notes' \"Same Padding\" fills the border with the edge pixels, "
                     "which is padding_mode=\"replicate\".",
                     "\"same\"의 두 가지 뜻: Keras/PyTorch의 padding=\"same\"은 출력 크기가 ceil(H / S)가 되도록 "
                     "패딩 크기를 고르는 것이고, 일부 강의 자료의 \"Same Padding\"은 외곽을 가장자리 픽셀 값으로 채우는 것 "
                     "(padding_mode=\"replicate\")입니다."),
    # gradient check
    "gc.run": ("Run gradient check", "기울기 검사 실행"),
    "gc.col.param": ("Parameter / input", "파라미터 / 입력"),
    "gc.col.error": ("Relative error", "상대 오차"),
    "gc.col.verdict": ("Verdict", "판정"),
    "gc.ok": ("OK", "통과"),
    "gc.bad": ("Mismatch", "불일치"),
    "gc.explain": ("Compares backprop's gradient with (f(x+h) − f(x−h)) / 2h in float64 on a small batch; "
                   "relative error below {tol:g} is green.",
                   "역전파 기울기를 float64의 (f(x+h) − f(x−h)) / 2h와 작은 배치로 비교합니다; "
                   "상대 오차가 {tol:g} 미만이면 초록색입니다."),
    "gc.running": ("Checking…", "검사 중…"),
    # speed
    "tab.speed": ("Naive vs Cython", "단순 구현 대 Cython"),
    "speed.run": ("Time the conv layers", "합성곱 레이어 시간 재기"),
    "speed.running": ("Timing…", "시간 재는 중…"),
    "speed.explain": ("Each conv layer of the current network on 8 test images: the plain NumPy loops of "
                      "cyconv.reference (what you would write first) against the Cython kernel (im2col, "
                      "BLAS, OpenMP over the batch). The outputs must agree; the times show why the kernel "
                      "exists.",
                      "현재 네트워크의 각 합성곱 레이어를 테스트 이미지 8장으로 실행합니다: cyconv.reference의 "
                      "단순한 NumPy 반복문(처음 떠올리는 구현)과 Cython 커널(im2col, BLAS, 배치에 대한 OpenMP)을 "
                      "비교합니다. 출력은 같아야 하고, 시간 차이가 커널이 필요한 이유를 보여줍니다."),
    "speed.col.layer": ("Layer", "레이어"),
    "speed.col.shape": ("Input (N, C, H, W)", "입력 (N, C, H, W)"),
    "speed.col.naive": ("Naive loops", "단순 반복문"),
    "speed.col.fast": ("Cython kernel", "Cython 커널"),
    "speed.col.speedup": ("Speed-up", "속도 향상"),
    "speed.col.difference": ("Max |difference|", "최대 |차이|"),
    "speed.no_conv": ("This network has no conv layer to time.", "이 네트워크에는 시간을 잴 합성곱 레이어가 없습니다."),
    # draw
    "draw.clear": ("Clear", "지우기"),
    "draw.load": ("Load image…", "이미지 불러오기…"),
    "draw.predict": ("Predict", "예측"),
    "draw.brush": ("Brush:", "붓 크기:"),
    "draw.result": ("Prediction: {label} ({confidence:.1%})", "예측: {label} ({confidence:.1%})"),
    "draw.hint": ("Draw with the mouse (white on black, like the digits) or load an image; "
                  "it is resized to the network's input.",
                  "마우스로 그리거나(검은 바탕에 흰 글씨) 이미지를 불러오세요; "
                  "네트워크 입력 크기로 바뀝니다."),
    "draw.bad_image": ("Could not read an image from {path}.", "{path}에서 이미지를 읽을 수 없습니다."),
    # glossary (tooltips): the seeds' definitions
    "term.channel": ("Channel: a colour image has 3 channels (R, G, B), a grey image 1. A conv layer with n "
                     "filters outputs n channels.",
                     "채널(Channel): 컬러 이미지는 RGB 3개의 채널, 흑백 이미지는 1개의 채널로 구성됩니다. "
                     "필터 n개를 적용하면 출력 데이터는 n개의 채널을 갖습니다."),
    "term.filter": ("Filter = kernel: the shared, learned parameters that find a feature. One filter spans all "
                    "input channels and makes one feature map; the channel sums add up to one map.",
                    "필터(Filter) = 커널(Kernel): 이미지의 특징을 찾아내기 위한 공용 파라미터이며 학습의 대상입니다. "
                    "하나의 필터는 입력의 모든 채널을 순회하고, 채널별 합성곱의 합이 하나의 피처 맵이 됩니다."),
    "term.stride": ("Stride: the step with which the filter moves over the input. A larger stride gives a "
                    "smaller output.",
                    "스트라이드(Stride): 필터가 입력 데이터를 순회하는 간격입니다. 스트라이드가 커지면 출력이 작아집니다."),
    "term.padding": ("Padding: pixels added around the input (usually zeros) so the output does not shrink and "
                     "the border is seen as often as the centre.",
                     "패딩(Padding): 입력 데이터의 외곽에 지정된 픽셀만큼 특정 값(보통 0)을 채워 넣는 것. "
                     "출력 크기가 줄어드는 것을 막고 외곽 정보도 학습하게 합니다."),
    "term.padding_mode": ("Padding mode: what the added border holds — zeros, the edge pixels (replicate, the "
                          "edge-filling kind of \"same padding\"), a mirror image (reflect) or the opposite side (circular).",
                          "패딩 방식: 추가한 외곽에 무엇을 채울지 — 0, 가장자리 픽셀 값(replicate, 가장자리로 "
                          "채우는 \"Same Padding\"), 거울상(reflect), 반대쪽 값(circular)."),
    "term.feature_map": ("Feature map: the matrix a convolution computes (before the activation function).",
                         "피처 맵(Feature Map): 합성곱 계산으로 만들어진 행렬 (활성화 함수 적용 전)."),
    "term.activation_map": ("Activation map: the feature map after the activation function — the conv "
                            "layer's final output.",
                            "액티베이션 맵(Activation Map): 피처 맵에 활성 함수를 적용한 결과, "
                            "즉 Convolution 레이어의 최종 출력입니다."),
    "term.pooling": ("Pooling: shrinks each map by taking the max, average or min of every window; it has no "
                     "parameters and keeps the number of channels.",
                     "풀링(Pooling): 각 영역의 최댓값, 평균, 최솟값을 모아 크기를 줄이고 특정 데이터를 강조합니다. "
                     "학습 파라미터가 없고 채널 수는 변하지 않습니다."),
    "term.kernel": ("Kernel size (KH×KW) of a filter, or the window of a pooling layer.",
                    "커널 크기(KH×KW): 필터의 크기, 또는 풀링 창의 크기."),
    "term.lr": ("Learning rate: how far each update moves the weights; can be changed while training.",
                "학습률: 한 번의 갱신에서 가중치를 얼마나 움직일지; 학습 중에도 바꿀 수 있습니다."),
    "term.batch": ("Batch: how many images (N in N×C×H×W) are processed per step.",
                   "배치: 한 단계에서 처리하는 이미지 수 (N×C×H×W의 N)."),
}


def set_language(code: str) -> None:
    """Switch every later `tr` call to `code` ('en' or 'ko')."""
    global _current
    if code not in LANGUAGES:
        raise ValueError(f"set_language: language must be one of {sorted(LANGUAGES)}, got {code!r}")
    _current = code


def language() -> str:
    """The current language code."""
    return _current


def tr(key: str, **values) -> str:
    """The text for `key` in the current language, with `{name}` fields filled from `values`."""
    english, korean = TEXTS[key]
    text = korean if _current == "ko" else english
    return text.format(**values) if values else text
