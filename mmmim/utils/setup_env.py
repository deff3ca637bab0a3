# Copyright (c) mmmim contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmmim module so that it registers itself.

    Args:
        init_default_scope (bool): Whether to set the default scope to
            ``'mmmim'`` as well, so that unprefixed ``type`` names resolve in
            mmmim's registries (handy in scripts and notebooks). If another
            scope is current, a new ``mmmim`` scope instance is created and
            made current with a warning. Defaults to True.
    """
    import mmmim.datasets  # noqa: F401,F403
    import mmmim.engine  # noqa: F401,F403
    import mmmim.evaluation  # noqa: F401,F403
    import mmmim.models  # noqa: F401,F403
    import mmmim.visualization  # noqa: F401,F403

    if not init_default_scope:
        return
    never_created = (
        DefaultScope.get_current_instance() is None
        or not DefaultScope.check_instance_created('mmmim')
    )
    if never_created:
        DefaultScope.get_instance('mmmim', scope_name='mmmim')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmmim':
        warnings.warn(
            'The current default scope '
            f'"{current_scope.scope_name}" is not "mmmim"; '
            '`register_all_modules` makes a new "mmmim" scope '
            'instance current.',
            stacklevel=2,
        )
        new_instance_name = f'mmmim-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmmim')
