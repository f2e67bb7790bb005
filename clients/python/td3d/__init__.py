"""td3d's Python client: train an environment written in Python with a td3d learner.

    import td3d
    td3d.Actor(make_env, learner="hostA").run()      # or: python3 -m td3d.actor ...

make_env() returns any object with Gymnasium's methods (reset(seed=...) -> (obs, info),
step(action) -> (obs, reward, terminated, truncated, info)) and observation_space /
action_space with .shape, .low and .high. The learner trains it as `--env external:NAME`
(or as a built-in env of the same id, dims and bounds). See clients/python/README.md.

Needs numpy, pyzmq and protobuf (Debian: python3-numpy python3-zmq python3-protobuf), and
the message classes generated from proto/td3d.proto (the build does it; td3d/_proto.py
says how by hand)."""
__all__ = ["Actor", "ActorRefused", "ActorResult", "Policy", "eval_seeds"]


def __getattr__(name):
    # lazy, so that `python3 -m td3d.actor` does not import td3d.actor twice
    if name in ("Actor", "ActorRefused", "ActorResult"):
        from . import actor
        return getattr(actor, name)
    if name in ("Policy", "eval_seeds"):
        from . import policy
        return getattr(policy, name)
    raise AttributeError(f"module 'td3d' has no attribute {name!r}")
