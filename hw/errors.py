"""Refusing bad generator parameters."""


class ParameterError(ValueError):
    """A generator parameter is out of range; the message names the parameter."""


def refuse(component, message: str):
    """Raise :class:`ParameterError` from a component's constructor.

    Amaranth warns about every ``Elaboratable`` that is created but never
    elaborated, including one whose constructor refused its parameters; a
    refused component is silenced first, as Amaranth does for its own objects.
    """
    component._MustUse__silence = True
    raise ParameterError(message)
