"""Refusing bad generator parameters.

Every generator (component constructor, planner, command line) refuses bad
input the same way: an exception whose message starts with the offending
field, ``"field_width: must be >= 1, got 0"`` (:mod:`sw.errors`).
"""

from sw.errors import InputError

__all__ = ["ParameterError", "refuse", "build_all"]


class ParameterError(InputError):
    """A generator parameter is out of range; the message starts with the parameter."""


def refuse(component, message: str, error: type[Exception] = ParameterError):
    """Raise ``error(message)`` (:class:`ParameterError` unless given) from a
    component's constructor; ``message`` starts with the offending parameter.

    Amaranth warns about every ``Elaboratable`` that is created but never
    elaborated, including one whose constructor refused its parameters; a
    refused component is silenced first, as Amaranth does for its own objects.
    A wrong kind of argument (a programming error, not bad input) is refused
    with ``error=TypeError``.
    """
    component._MustUse__silence = True
    raise error(message)


def build_all(builders):
    """Call every builder in turn and return what they built; if one refuses, the
    components already built are silenced (never to be elaborated) and the error
    propagates, so a refused command line leaves no "created but never used"
    warning behind."""
    built = []
    try:
        for build in builders:
            built.append(build())
    except BaseException:
        for component in built:
            component._MustUse__silence = True
        raise
    return built
