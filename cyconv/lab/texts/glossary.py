"""The one glossary of the lab, English and Korean: the course's own Korean terms.

Every Korean text of the lab (the window, the views, the lessons and the lesson packs) uses
these words and none of the variants listed as ``avoid`` (a test reads them all), so one
idea has one name on every label, tooltip, status line and lesson. ``term(key)`` gives a term
in the current language; the texts ``glossary.<key>`` give it through ``tr``.
"""

#: key -> (English, Korean, Korean variants not to use)
GLOSSARY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "convolution": ("convolution", "합성곱", ("컨볼루션", "콘볼루션")),
    "filter": ("filter", "필터", ("휠터",)),
    "layer": ("layer", "층", ("레이어",)),
    "kernel": ("kernel", "커널", ()),
    "channel": ("channel", "채널", ()),
    "stride": ("stride", "스트라이드", ("보폭",)),
    "padding": ("padding", "패딩", ()),
    "zero_padding": ("zero padding", "제로 패딩", ("영 패딩",)),
    "edge": ("edge (border)", "외곽", ("외각",)),
    "feature_map": ("feature map", "피처 맵", ("특징 맵", "피쳐 맵", "특성 맵")),
    "activation_function": ("activation function", "활성화 함수", ("활성 함수", "액티베이션 함수")),
    "activation_map": ("activation map", "활성화 맵", ("액티베이션 맵", "활성 맵")),
    "pooling": ("pooling", "풀링", ()),
    "max_pooling": ("max pooling", "최대 풀링", ("맥스 풀링",)),
    "average_pooling": ("average pooling", "평균 풀링", ("에버리지 풀링",)),
    "flatten": ("flatten", "평탄화", ("플래튼",)),
    "dense": ("fully connected", "완전연결", ("완전 연결", "전결합")),
    "bias": ("bias", "편향", ("바이어스",)),
    "weight": ("weight", "가중치", ()),
    "parameter": ("parameter", "파라미터", ("매개변수",)),
    "hyper_parameter": ("hyper-parameter", "하이퍼파라미터", ("하이퍼 파라미터",)),
    "network": ("network", "신경망", ("네트워크",)),
    "epoch": ("epoch", "에폭", ("에포크",)),
    "learning_rate": ("learning rate", "학습률", ()),
    "loss": ("loss function", "손실 함수", ()),
    "cross_entropy": ("cross-entropy", "교차 엔트로피", ("크로스 엔트로피",)),
    "optimizer": ("optimizer", "옵티마이저", ("최적화기",)),
    "softmax": ("softmax", "소프트맥스", ()),
    "sigmoid": ("sigmoid", "시그모이드", ()),
    "dropout": ("dropout", "드롭아웃", ()),
    "replicate": ("replicate (edge) padding", "복제 패딩", ()),
    "zeros": ("zeros", "0으로 채우기", ()),
    "accuracy": ("accuracy", "정확도", ()),
}

TEXTS: dict[str, tuple[str, str]] = {f"glossary.{key}": (en, ko) for key, (en, ko, _) in GLOSSARY.items()}


def term(key: str) -> str:
    """The glossary's word for ``key`` in the current language."""
    from ..i18n import tr

    return tr(f"glossary.{key}")


def avoided_variants() -> dict[str, str]:
    """Each Korean variant not to use -> the glossary's term instead."""
    return {variant: ko for _, ko, variants in GLOSSARY.values() for variant in variants}
