# The toy job with a NaN injected into the inputs of iteration 2.
_base_ = './toy_train.py'
custom_hooks = [
    dict(type='InjectNaNHook', nan_iter=2),
    dict(type='DumpWeightsHook'),
    dict(type='NonFiniteGuardHook', action='skip'),
]
