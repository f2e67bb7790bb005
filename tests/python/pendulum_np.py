"""Pendulum-v1 in NumPy with Gymnasium's semantics, for the Python client's tests: the
dynamics of td3d's built-in Pendulum-v1 (common/env/env_pendulum.c, Gymnasium's own), reset
draws from np.random.default_rng(seed), a 200-step time limit reported as `truncated`
(never `terminated`). Duck typed: no gymnasium needed.

make_env() -> the env with id "pendulum-np"; make_env_v1() -> the same named "Pendulum-v1"
(to share a run with td3d's C actors); make_env_wrong() -> one observation too many."""
import numpy as np


class Box:
    def __init__(self, low, high):
        self.low = np.asarray(low, np.float32)
        self.high = np.asarray(high, np.float32)
        self.shape = self.low.shape


class Spec:
    def __init__(self, env_id):
        self.id = env_id


class PendulumNP:
    max_speed, max_torque, dt, g, m, l = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0
    max_episode_steps = 200

    def __init__(self, env_id="pendulum-np", extra_obs=0):
        self.spec = Spec(env_id)
        self.extra = extra_obs
        high = np.array([1.0, 1.0, self.max_speed] + [1.0] * extra_obs, np.float32)
        self.observation_space = Box(-high, high)
        self.action_space = Box([-self.max_torque], [self.max_torque])
        self.np_random = np.random.default_rng()
        self.state = np.zeros(2)
        self.t = 0

    def _obs(self):
        th, thdot = self.state
        return np.array([np.cos(th), np.sin(th), thdot] + [0.0] * self.extra, np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.state = self.np_random.uniform(low=[-np.pi, -1.0], high=[np.pi, 1.0])
        self.t = 0
        return self._obs(), {}

    def step(self, u):
        th, thdot = self.state
        u = float(np.clip(u, -self.max_torque, self.max_torque)[0])
        thn = ((th + np.pi) % (2 * np.pi)) - np.pi
        cost = thn ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2
        newthdot = thdot + (3 * self.g / (2 * self.l) * np.sin(th) + 3.0 / (self.m * self.l ** 2)
                            * u) * self.dt
        newthdot = float(np.clip(newthdot, -self.max_speed, self.max_speed))
        self.state = np.array([th + newthdot * self.dt, newthdot])
        self.t += 1
        return self._obs(), -cost, False, self.t >= self.max_episode_steps, {}


def make_env():
    return PendulumNP()


def make_env_v1():
    return PendulumNP("Pendulum-v1")


def make_env_wrong():
    return PendulumNP(extra_obs=1)
