"""The deterministic policy in NumPy, and the evaluation episode seeds.

Policy computes what td3d's actors, evaluator and `td3d eval` compute (common/nn/nn.h), in
float32: h = relu(W_l h + b_l) for every layer but the last, then
action = mid + half * tanh(W h + b) with mid = (high + low) / 2, half = (high - low) / 2.
The parameters are one float32 array in td3d's layout: per layer W_l (L[l+1], L[l]) row-major,
then b_l (L[l+1]). The sums run in another order than td3d's BLAS: actions agree to ~1e-6.

eval_seeds reproduces the seeds td3d's evaluator gives its episodes (common/env/evaluate.c:
xoshiro256** on the stream (run seed + 100, purpose 5)), so a Python evaluator starts the
same episodes for the same run seed."""
import numpy as np

_M = (1 << 64) - 1


def param_count(layers):
    """Floats in a network of these layer sizes (wire_param_count)."""
    return sum((layers[i] + 1) * layers[i + 1] for i in range(len(layers) - 1))


class Policy:
    """A policy of layer sizes `layers` (obs_dim, hidden..., act_dim) and action bounds."""

    def __init__(self, layers, low, high, params=None):
        self.layers = [int(n) for n in layers]
        if len(self.layers) < 2 or min(self.layers) < 1:
            raise ValueError(f"unusable network shape {self.layers}")
        self.low = np.asarray(low, np.float32).reshape(-1)
        self.high = np.asarray(high, np.float32).reshape(-1)
        if self.low.shape != (self.layers[-1],) or self.high.shape != self.low.shape:
            raise ValueError(f"bounds of {self.low.size} values for {self.layers[-1]} actions")
        if not np.all(self.low < self.high):
            raise ValueError("every action's low bound must be below its high bound")
        self.mid = np.float32(0.5) * (self.high + self.low)
        self.half = np.float32(0.5) * (self.high - self.low)
        self.n_params = param_count(self.layers)
        self.weights = []
        if params is not None:
            self.set_params(params)

    def set_params(self, params):
        """params: n_params float32 values (array or little-endian bytes) in td3d's layout."""
        if isinstance(params, (bytes, bytearray, memoryview)):
            p = np.frombuffer(params, dtype="<f4")
        else:
            p = np.asarray(params, dtype=np.float32).reshape(-1)
        if p.size != self.n_params:
            raise ValueError(f"{p.size} parameters for layers {self.layers} "
                             f"({self.n_params} expected)")
        p = p.astype(np.float32, copy=True)
        ws, at = [], 0
        for i in range(len(self.layers) - 1):
            n_in, n_out = self.layers[i], self.layers[i + 1]
            w = p[at:at + n_in * n_out].reshape(n_out, n_in)
            at += n_in * n_out
            b = p[at:at + n_out]
            at += n_out
            ws.append((w, b))
        self.weights = ws

    def act(self, obs):
        """obs (obs_dim,) or (n, obs_dim) -> action (act_dim,) or (n, act_dim), float32."""
        h = np.asarray(obs, dtype=np.float32)
        last = len(self.weights) - 1
        if h.ndim == 1:
            for i, (w, b) in enumerate(self.weights):
                h = w @ h + b
                if i < last:
                    np.maximum(h, 0, out=h)
        else:
            for i, (w, b) in enumerate(self.weights):
                h = h @ w.T + b
                if i < last:
                    np.maximum(h, 0, out=h)
        return self.mid + self.half * np.tanh(h)


def _splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & _M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & _M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & _M
    return x, z ^ (z >> 31)


class Xoshiro256:
    """td3d's random streams (common/base/rng.c): xoshiro256** seeded from (seed, stream)."""

    def __init__(self, seed, stream):
        a, ka = _splitmix64(seed & _M)
        b, kb = _splitmix64((stream ^ 0x6a09e667f3bcc909) & _M)
        key = ka ^ ((kb * 0xd1342543de82ef95) & _M)
        _, key = _splitmix64(key)
        s = []
        for _ in range(4):
            key, v = _splitmix64(key)
            s.append(v)
        if not any(s):
            s[0] = 1
        self.s = s

    def next_u64(self):
        s = self.s
        x = (s[1] * 5) & _M
        result = ((((x << 7) | (x >> 57)) & _M) * 9) & _M
        t = (s[1] << 17) & _M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & _M
        return result


def eval_seeds(run_seed, n):
    """The reset seeds of td3d's n evaluation episodes for a run seeded run_seed."""
    r = Xoshiro256(run_seed + 100, 5 << 56)  # evaluate_seed, rng_stream_id(RNG_PURPOSE_EVAL, 0)
    return [r.next_u64() for _ in range(n)]
