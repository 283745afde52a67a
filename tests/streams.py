"""Stream helpers for Amaranth-simulator testbenches (valid/ready, ``async ctx``)."""


async def stream_put(ctx, stream, payload):
    """Offer one payload and wait until it is taken."""
    ctx.set(stream.valid, 1)
    ctx.set(stream.payload, payload)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream):
    """Accept one payload (ready held only for this transfer) and return it."""
    ctx.set(stream.ready, 1)
    payload, = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


async def stream_collect(ctx, stream, count, ready_prob=1.0, rng=None):
    """Take ``count`` payloads with ``ready`` high with probability ``ready_prob``
    each cycle. Returns ``(payloads, cycles)`` with cycles counted from the cycle
    of this call to the cycle of the last transfer, inclusive."""
    beats, cycles = [], 0
    while len(beats) < count:
        ready = ready_prob >= 1.0 or rng.random() < ready_prob
        ctx.set(stream.ready, ready)
        _clk, _rst, valid, payload = await ctx.tick().sample(stream.valid, stream.payload)
        cycles += 1
        if valid and ready:
            beats.append(payload)
    ctx.set(stream.ready, 0)
    return beats, cycles
