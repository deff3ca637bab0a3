# The NaN job without the guard: the weights become NaN.
_base_ = './toy_nan.py'
custom_hooks = [
    dict(type='InjectNaNHook', nan_iter=2),
    dict(type='DumpWeightsHook'),
]
