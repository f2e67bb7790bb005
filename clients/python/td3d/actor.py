"""A td3d actor (or evaluator) for an environment written in Python.

It speaks the protocol of `td3d actor` (actor/actor.c, docs/architecture.md):
  - control (DEALER -> the learner's ROUTER :5557): Hello, with the lease of the latest
    Welcome after a reconnect (an evaluator's with the learner's evaluator token when it was
    given one: eval_token_file); Welcome gives the slot, its lease (a 128-bit secret, fields
    lease and lease_hi), noise, seed, batch size and pacing; heartbeats every 200 ms with the
    lease, whose answers carry the transitions the learner accepted; a
    Reject ends the actor when retrying cannot help (another env, dims or bounds, another
    protocol version, an evaluator without the learner's token) and is retried after its retry_after_ms otherwise (no free slot, the
    name's lease held elsewhere); RunOver ends it with success.
  - weights (DEALER -> the learner's ROUTER :5556, queueing 4 frames; each poll keeps the
    newest): the one-byte subscribe frame (SUBSCRIBE) right away and every second, which the
    learner answers with every Weights broadcast for the next 5 s: the policy, run by
    policy.Policy in NumPy.
  - experience (PUSH -> PULL :5555): ExperienceBatch frames with the slot's lease.
  - as an evaluator, EvalReports with the slot's lease on the control socket.
Uniform random actions until the run has start_steps transitions, then the policy plus the
slot's Gaussian (or Ornstein-Uhlenbeck) noise, clipped to the bounds. `terminated` is
terminal, `truncated` is not. An actor keeps at most half of max_lead of its transitions
unconfirmed and waits while the run's data is more than half of max_lead ahead of training
(but sends a batch a second while training does not move: it is waiting for data itself).
A learner silent for learner_timeout_ms is greeted again, so the actor rejoins a restarted
learner. As an evaluator it runs deterministic episodes (seeds as td3d's evaluator) every
eval_every run steps and sends EvalReports.

    python3 -m td3d.actor --learner HOST --env-factory my_module:make_env [--name N] [--eval]
"""
import argparse
import importlib
import logging
import math
import os
import signal
import socket
import stat
import sys
import time

import numpy as np
import zmq

from ._proto import pb, PROTOCOL_VERSION, END_MARK, MAX_NAME, MAX_DIM, \
    WEIGHTS_SUBSCRIBE, WEIGHTS_SUBSCRIBE_S
from .policy import Policy, eval_seeds, param_count

log = logging.getLogger("td3d.actor")

ROLE_ACTOR, ROLE_EVALUATOR = 1, 2
NOISE_OU = 2
REJECT_NAMES = {1: "VERSION", 2: "ENV", 3: "SHAPE", 4: "UNAUTHORIZED", 5: "FULL",
                6: "MALFORMED", 7: "UNKNOWN_SLOT", 8: "NAME_IN_USE"}
FATAL_REJECTS = (1, 2, 3, 4, 6)  # retrying cannot fix these
EVAL_TOKEN_MIN, EVAL_TOKEN_MAX = 16, 256  # bytes of an evaluator token (common/net/eval_token.h)
BACKLOG_STALL_S = 1.0  # training still this long while the backlog rule holds: a batch goes


class ActorRefused(RuntimeError):
    """The learner refused this actor for good (reason: ENV, SHAPE, VERSION, MALFORMED,
    UNAUTHORIZED: an evaluator without the learner's token, or a CURVE key problem: CURVE), or
    the actor cannot start (reason: CONFIG)."""

    def __init__(self, reason, detail):
        super().__init__(f"the learner refused this actor ({reason}): {detail}"
                         if reason not in ("CONFIG", "CURVE") else detail)
        self.reason = reason
        self.detail = detail


class ActorResult:
    """What a run did (counts since the actor started)."""

    def __init__(self):
        self.env_steps = 0        # transitions produced
        self.sent = 0             # handed to ZeroMQ
        self.dropped = 0          # dropped under back-pressure or without a learner
        self.blocked_us = 0       # time spent waiting (pacing, back-pressure)
        self.episodes = 0
        self.env_errors = 0       # steps with a non-finite observation or reward (episode cut)
        self.registrations = 0    # Welcomes
        self.evaluations = 0      # EvalReports sent
        self.accepted = 0         # transitions the learner confirmed, latest session
        self.policy_version = 0
        self.run_over = False     # the learner said the run is over

    def __repr__(self):
        return "ActorResult(" + ", ".join(f"{k}={v}" for k, v in vars(self).items()) + ")"


def _f32(values):
    return np.ascontiguousarray(values, dtype="<f4").tobytes()


def _now():
    return time.monotonic()


def read_key_file(path, want_secret):
    """(public, secret) Z85 keys of a `td3d keygen` file (secret None when not wanted)."""
    keys = {}
    try:
        with open(path, encoding="ascii") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) != 2 or parts[0] not in ("public-key", "secret-key") or \
                        len(parts[1]) != 40:
                    raise ActorRefused("CONFIG", f"{path}:{n}: not a td3d key file line "
                                                 "(expected 'public-key KEY' or 'secret-key KEY')")
                keys[parts[0]] = parts[1].encode()
    except OSError as e:
        raise ActorRefused("CONFIG", f"cannot open key file {path}: {e.strerror}")
    if "public-key" not in keys:
        raise ActorRefused("CONFIG", f"{path}: no public-key line (make keys with td3d keygen)")
    if want_secret and "secret-key" not in keys:
        raise ActorRefused("CONFIG", f"{path}: no secret-key line: this is a public key; give "
                                     "the .key file")
    return keys["public-key"], keys.get("secret-key")


def read_eval_token(path):
    """The evaluator token in path, as `td3d actor --eval-token-file` reads it: the file's
    bytes up to trailing white space, 16 to 256 of them, in a regular file that only its owner
    may read or write."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ActorRefused("CONFIG", f"--eval-token-file {path} is not a regular file")
            if st.st_mode & 0o077:
                raise ActorRefused("CONFIG", f"--eval-token-file {path}: group or others may read "
                                             f"or write it (mode {st.st_mode & 0o777:03o}); the "
                                             f"token is a secret: chmod 600 {path}")
            data = f.read(EVAL_TOKEN_MAX + 65)
    except OSError as e:
        raise ActorRefused("CONFIG", f"--eval-token-file {path}: cannot open it: {e.strerror}")
    token = data.rstrip(b" \t\r\n")
    if not EVAL_TOKEN_MIN <= len(token) <= EVAL_TOKEN_MAX:
        raise ActorRefused("CONFIG", f"--eval-token-file {path} holds a token of {len(token)} "
                                     f"bytes; it must be {EVAL_TOKEN_MIN} to {EVAL_TOKEN_MAX}")
    return token


class _EnvAdapter:
    """The user's env seen as td3d sees one: float32 vectors of fixed sizes, bounds."""

    def __init__(self, env, env_id, max_episode_steps):
        self.env = env
        try:
            obs_space, act_space = env.observation_space, env.action_space
            self.obs_shape = tuple(obs_space.shape)
            self.act_shape = tuple(act_space.shape)
            low = np.asarray(act_space.low, dtype=np.float32).reshape(-1)
            high = np.asarray(act_space.high, dtype=np.float32).reshape(-1)
        except AttributeError as e:
            raise ActorRefused("CONFIG", "the env needs observation_space and action_space with "
                                         f".shape, .low and .high ({e})")
        self.obs_dim = int(np.prod(self.obs_shape)) if self.obs_shape else 1
        self.act_dim = int(np.prod(self.act_shape)) if self.act_shape else 1
        if low.size == 1 and self.act_dim > 1:
            low, high = np.full(self.act_dim, low[0], np.float32), np.full(self.act_dim, high[0],
                                                                            np.float32)
        if low.size != self.act_dim or high.size != self.act_dim:
            raise ActorRefused("CONFIG", f"action_space bounds have {low.size} values for "
                                         f"{self.act_dim} actions")
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
            raise ActorRefused("CONFIG", "td3d needs finite action bounds with low < high "
                                         f"(action_space: {low}, {high})")
        if not (1 <= self.obs_dim <= MAX_DIM and 1 <= self.act_dim <= MAX_DIM):
            raise ActorRefused("CONFIG", f"obs {self.obs_dim}, act {self.act_dim}: td3d takes "
                                         f"1..{MAX_DIM} each")
        self.low, self.high = low, high
        if env_id is None:
            spec = getattr(env, "spec", None)
            env_id = getattr(spec, "id", None) or getattr(env, "env_id", None)
        if not env_id:
            raise ActorRefused("CONFIG", "the env has no id: pass env_id (--env-id NAME), the "
                                         "NAME of the learner's --env external:NAME")
        if len(env_id.encode()) >= MAX_NAME:
            raise ActorRefused("CONFIG", f"env id '{env_id}' is longer than {MAX_NAME - 1} bytes")
        self.id = env_id
        self.max_episode_steps = max_episode_steps

    def reset(self, seed=None):
        out = self.env.reset(seed=seed) if seed is not None else self.env.reset()
        obs = out[0] if isinstance(out, tuple) else out
        return np.asarray(obs, dtype=np.float32).reshape(self.obs_dim)

    def step(self, action):
        obs, reward, terminated, truncated, _ = self.env.step(action.reshape(self.act_shape))
        return (np.asarray(obs, dtype=np.float32).reshape(self.obs_dim), float(reward),
                bool(terminated), bool(truncated))


class Actor:
    """An actor (or, with eval=True, an evaluator) of a td3d run.

    make_env: a function of no arguments returning the env (Gymnasium's methods, duck typed).
    learner: host name or address of the learner; ports as `td3d actor`'s defaults.
    name: stable across restarts (the learner keys the slot on it); default HOST/py<pid>.
    env_id: the id the learner must train (its --env external:NAME, or a built-in's id);
      default env.spec.id, then env.env_id.
    curve_key / curve_server: this actor's .key file and the learner's .pub (both or neither).
    eval_token_file: with eval=True, the file of the learner's evaluator token (its
      --eval-token-file), which a learner that has one requires of an evaluator.
    max_env_steps: stop after this many transitions (0: never). max_episode_steps: truncate
      episodes here as well as where the env says (None: only the env's truncated).
    run() runs until stop(), SIGINT/SIGTERM when run from the command line, max_env_steps or
    the learner's RunOver, and returns an ActorResult; a refusal raises ActorRefused.
    One thread: run() and the env live in the caller's thread; stop() may come from another.
    """

    def __init__(self, make_env, learner="127.0.0.1", name=None, eval=False, env_id=None,
                 experience_port=5555, weights_port=5556, control_port=5557,
                 curve_key=None, curve_server=None, heartbeat_ms=200, learner_timeout_ms=5000,
                 send_timeout_ms=30000, max_env_steps=0, max_episode_steps=None,
                 eval_token_file=None):
        self.make_env = make_env
        self.learner = learner
        self.name = name or f"{socket.gethostname()}/py{os.getpid()}"
        if len(self.name.encode()) >= MAX_NAME:
            raise ActorRefused("CONFIG", f"name '{self.name}' is longer than {MAX_NAME - 1} bytes")
        self.eval = bool(eval)
        self.env_id = env_id
        self.ports = (experience_port, weights_port, control_port)
        if bool(curve_key) != bool(curve_server):
            raise ActorRefused("CONFIG", "CURVE security needs both curve_key (this actor's "
                                         "key, --curve-key) and curve_server (the learner's "
                                         ".pub, --curve-server)")
        self.curve_key, self.curve_server = curve_key, curve_server
        # read once, here: a bad file stops the evaluator before it connects; an actor sends none
        self.eval_token = read_eval_token(eval_token_file) if self.eval and eval_token_file \
            else b""
        self.heartbeat_s = heartbeat_ms / 1000.0
        self.learner_timeout_s = learner_timeout_ms / 1000.0
        self.send_timeout_s = send_timeout_ms / 1000.0
        self.max_env_steps = max_env_steps
        self.max_episode_steps = max_episode_steps
        self._stop = False
        self.result = ActorResult()

    def stop(self):
        """Asks run() to end after its current step (any thread, a signal handler)."""
        self._stop = True

    # ------------------------------------------------------------------------------------
    # Sockets and messages

    def _open(self):
        ctx = self.ctx = zmq.Context()
        curve = None
        if self.curve_key:
            pub, sec = read_key_file(self.curve_key, True)
            server, _ = read_key_file(self.curve_server, False)
            curve = (pub, sec, server)

        def sock(kind, port, **opts):
            s = ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            for k, v in opts.items():
                s.setsockopt(getattr(zmq, k), v)
            s.setsockopt(zmq.RECONNECT_IVL, 100)
            s.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
            if curve:
                s.curve_publickey, s.curve_secretkey, s.curve_serverkey = curve
            return s

        # immediate: no Hellos queued while the learner is away (a stale burst on its return)
        self.dealer = sock(zmq.DEALER, self.ports[2], SNDHWM=100, RCVHWM=100,
                           MAXMSGSIZE=1 << 20, IMMEDIATE=1)
        self.monitor = self.dealer.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
            zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        # newest kept; at most two subscribe frames wait for a learner that is away
        self.sub = sock(zmq.DEALER, self.ports[1], SNDHWM=2, RCVHWM=4, MAXMSGSIZE=64 << 20)
        self.last_subscribe = -1e9
        self.push = None if self.eval else sock(zmq.PUSH, self.ports[0], SNDHWM=4, IMMEDIATE=1)
        host = self.learner if ":" not in self.learner else f"[{self.learner}]"
        self.dealer.connect(f"tcp://{host}:{self.ports[2]}")
        self.sub.connect(f"tcp://{host}:{self.ports[1]}")
        if self.push is not None:
            self.push.connect(f"tcp://{host}:{self.ports[0]}")

    def _close(self):
        for s in ("monitor", "dealer", "sub", "push"):
            sk = getattr(self, s, None)
            if sk is not None:
                sk.close(0)
        if getattr(self, "ctx", None) is not None:
            self.ctx.term()
            self.ctx = None

    def _check_handshake(self):
        """A refused key or a security mismatch ends the actor with the reason."""
        while True:
            try:
                frames = self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            event = int.from_bytes(frames[0][:2], "little")
            value = int.from_bytes(frames[0][2:6], "little")
            if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                raise ActorRefused("CURVE", "the learner refused this actor's CURVE key: its "
                                            "public key (.pub) must be in the learner's "
                                            "--curve-authorized directory")
            if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and \
                    value == getattr(zmq, "PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH", 0x10000003):
                raise ActorRefused("CURVE", "the learner does not use CURVE security, but this "
                                            "actor does: drop --curve-key and --curve-server"
                                   if self.curve_key else
                                   "the learner uses CURVE security: give this actor "
                                   "--curve-key (its own key) and --curve-server (the "
                                   "learner's .pub)")
            self._limited("handshake", 10, "the handshake with the learner failed%s",
                          ": is --curve-server the learner's public key?" if self.curve_key
                          else "")

    def _limited(self, key, every_s, fmt, *args):
        last = self._log_times.get(key, -1e9)
        if _now() - last >= every_s:
            self._log_times[key] = _now()
            log.warning(fmt, *args)

    def _send_control(self, **body):
        """True when the message left; False without a connection to the learner yet (the
        control socket queues nothing while it has none)."""
        m = pb.Control(**body)
        try:
            self.dealer.send(m.SerializeToString(), zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _send_hello(self):
        e = self.envx
        h = pb.Hello(protocol_version=PROTOCOL_VERSION, actor_name=self.name,
                     role=ROLE_EVALUATOR if self.eval else ROLE_ACTOR, env_id=e.id,
                     obs_dim=e.obs_dim, act_dim=e.act_dim, action_low=_f32(e.low),
                     action_high=_f32(e.high), envs=1, eval_token=self.eval_token,
                     end_mark=END_MARK, **self._lease())
        if not self._send_control(hello=h):
            return False
        self.last_hello = _now()
        return True

    def _lease(self):
        """The slot's lease as the messages' two fields (its low and high 64 bits; both 0
        before the first Welcome)."""
        return {"lease": self.lease[0], "lease_hi": self.lease[1]}

    def _send_heartbeat(self):
        r = self.result
        hb = pb.Heartbeat(protocol_version=PROTOCOL_VERSION, run_id=self.run_id, slot=self.slot,
                          env_steps=r.env_steps, policy_version=self.version,
                          blocked_us=r.blocked_us, dropped=r.dropped, end_mark=END_MARK,
                          **self._lease())
        self._send_control(heartbeat=hb)
        self.last_heartbeat = _now()

    def _on_welcome(self, w):
        e = self.envx
        layers = list(w.actor_layers)
        if len(layers) < 2 or layers[0] != e.obs_dim or layers[-1] != e.act_dim:
            raise ActorRefused("SHAPE", f"the learner's network {layers} does not fit obs "
                                        f"{e.obs_dim}, act {e.act_dim}")
        same_run = self.registered and w.run_id == self.run_id and w.slot == self.slot
        if not same_run:
            self.policy = Policy(layers, e.low, e.high)
            self.version = 0
            self.seq = 0
            self._clear_batch()
            self.noise_rng = np.random.default_rng([w.seed, w.slot, 2])
            self.ou = np.zeros(e.act_dim, np.float32)
            self.obs = None  # a new episode, seeded from (seed, slot)
            self.episode_seed = (w.seed * 1000003 + w.slot) & ((1 << 63) - 1)
            self.next_eval_at = 0
        self.welcome = w
        self.slot, self.run_id, self.lease = w.slot, w.run_id, (w.lease, w.lease_hi)
        self.registered = True
        # the run's counters come again from this learner (one restarted from a checkpoint
        # is behind what this actor saw)
        self.run_env_steps = self.run_updates = 0
        self._backlog_wait = None  # (when the backlog rule began to hold, run_updates then)
        self._backlog_free = 0  # steps the stall rule still lets go
        self.resync_eval = True
        self.session_sent = self.session_accepted = 0
        self.accepted_changed = self.last_ack = _now()
        self.result.registrations += 1
        self.hello_backoff = 0.25
        log.info("joined run %016x as slot %u (noise %s sigma %.3g)", w.run_id, w.slot,
                 "OU" if w.noise == NOISE_OU else "Gaussian", w.noise_sigma)

    def _poll_control(self):
        while True:
            try:
                frame = self.dealer.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                m = pb.Control.FromString(frame)
            except Exception:  # noqa: BLE001 - a malformed frame from the peer
                log.debug("control frame of %d bytes refused: decode", len(frame))
                continue
            kind = m.WhichOneof("body")
            if kind is None:
                continue
            body = getattr(m, kind)
            if body.protocol_version != PROTOCOL_VERSION and kind == "reject":
                raise ActorRefused("VERSION", body.detail or "another protocol version")
            if body.protocol_version != PROTOCOL_VERSION or body.end_mark != END_MARK:
                log.debug("control message refused: version or truncation")
                continue
            if kind == "welcome":
                self._on_welcome(body)
            elif kind == "heartbeat":
                if self.registered and body.run_id == self.run_id:
                    self.last_ack = _now()
                    if body.accepted != self.session_accepted:
                        self.session_accepted = body.accepted
                        self.result.accepted = body.accepted
                        self.accepted_changed = self.last_ack
                    self.run_env_steps = max(self.run_env_steps, body.env_steps)
            elif kind == "reject":
                self._on_reject(body)
            elif kind == "run_over":
                if self.registered and not self.result.run_over and body.run_id == self.run_id:
                    log.info("the learner says run %016x is over (%s); stopping", self.run_id,
                             body.reason)
                    self.result.run_over = True

    def _on_reject(self, r):
        name = REJECT_NAMES.get(r.reason, str(r.reason))
        if r.reason == 7:  # UNKNOWN_SLOT
            log.warning("the learner no longer knows this actor (%s); registering again",
                        r.detail)
            self.registered = False
        elif r.reason in FATAL_REJECTS:
            raise ActorRefused(name, r.detail)
        else:
            log.warning("the learner refused this actor for now (%s): %s; trying again%s",
                        name, r.detail, f" after retry_after_ms {r.retry_after_ms}"
                        if r.retry_after_ms else "")
            if r.retry_after_ms:  # its hint, within the usual back-off's range
                self.hello_backoff = min(max(r.retry_after_ms / 1000.0, 0.25), 30.0)

    def _poll_weights(self):
        # the subscribe frame once a second: the learner sends weights only to the DEALERs it
        # heard one from in the last 5 s (a reconnected DEALER is a new one to it)
        now = _now()
        if now - self.last_subscribe >= WEIGHTS_SUBSCRIBE_S:
            try:
                self.sub.send(WEIGHTS_SUBSCRIBE, zmq.NOBLOCK)
                self.last_subscribe = now
            except zmq.Again:
                pass  # no room (no connection yet): the next poll tries again
        # every queued frame is read and the newest taken (no CONFLATE: libzmq's can leak a
        # frame when its reader and I/O thread meet)
        frame = None
        while True:
            try:
                frame = self.sub.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
        if frame is not None and self.registered:
            self._take_weights(frame)

    def _take_weights(self, frame):
        try:
            w = pb.Weights.FromString(frame)
        except Exception:  # noqa: BLE001
            self._limited("weights", 10, "weights frame refused: decode")
            return
        if w.run_id != self.run_id:
            return  # a restarted learner's weights arrive before its Welcome
        layers = list(w.layers)
        if w.protocol_version != PROTOCOL_VERSION or w.end_mark != END_MARK or \
                layers != self.policy.layers or \
                len(w.params) != 4 * param_count(layers):
            self._limited("weights", 10, "weights frame refused: version, shape or length")
            return
        if w.version != self.version:
            p = np.frombuffer(w.params, dtype="<f4")
            if not np.all(np.isfinite(p)):
                self._limited("weights", 10, "weights frame refused: nonfinite")
                return
            self.policy.set_params(p)
        self.version = w.version
        self.run_env_steps = max(self.run_env_steps, w.env_steps)
        self.run_updates = max(self.run_updates, w.updates)

    def _service(self):
        """Keeps lease and policy fresh while waiting."""
        self._poll_weights()
        self._poll_control()
        if _now() - self.last_heartbeat > self.heartbeat_s:
            self._send_heartbeat()

    # ------------------------------------------------------------------------------------
    # Experience

    def _clear_batch(self):
        self.b_obs, self.b_act, self.b_rew, self.b_next, self.b_term = [], [], [], [], []
        self.b_eps = []

    def _await_confirmation(self):
        """Before stopping: waits (heartbeating) until the learner confirms every transition
        sent, since closing the socket discards frames ZeroMQ has not written out yet; gives up
        after learner_timeout without progress."""
        since = _now()
        while (self.registered and not self._stop and not self.result.run_over
               and self.session_accepted < self.session_sent):
            if _now() - max(since, self.accepted_changed) > self.learner_timeout_s:
                log.warning("stopping with %d transitions the learner has not confirmed",
                            self.session_sent - self.session_accepted)
                return
            if _now() - self.last_heartbeat > self.heartbeat_s:
                self._send_heartbeat()
            self.dealer.poll(20)
            self._poll_control()

    def _flush(self, timeout_s):
        n = len(self.b_rew)
        if n == 0:
            return
        e = self.envx
        b = pb.ExperienceBatch(
            protocol_version=PROTOCOL_VERSION, run_id=self.run_id, slot=self.slot,
            seq=self.seq, policy_version=self.version, n=n, obs_dim=e.obs_dim,
            act_dim=e.act_dim, obs=_f32(self.b_obs), action=_f32(self.b_act),
            reward=_f32(self.b_rew), next_obs=_f32(self.b_next), terminal=_f32(self.b_term),
            end_mark=END_MARK, **self._lease())
        for ret, length in self.b_eps[:n]:  # never more episodes than transitions
            b.episodes.add(episode_return=ret, length=length)
        self.seq += 1
        frame = b.SerializeToString()
        sent = False
        try:
            self.push.send(frame, zmq.NOBLOCK)
            sent = True
        except zmq.Again:
            t0 = _now()
            while not sent and self.registered and _now() - t0 < timeout_s and not self._stop:
                if self.push.poll(50, zmq.POLLOUT):
                    try:
                        self.push.send(frame, zmq.NOBLOCK)
                        sent = True
                    except zmq.Again:
                        pass
                self._service()
                if _now() - self.last_ack > self.learner_timeout_s:
                    log.warning("no answer from the learner for %d ms; registering again",
                                self.learner_timeout_s * 1000)
                    self.registered = False
            self.result.blocked_us += int((_now() - t0) * 1e6)
        if sent:
            self.result.sent += n
            self.session_sent += n
        else:
            self.result.dropped += n
            if not self._stop:
                self._limited("drop", 5, "dropped a batch of %d transitions: %s", n,
                              "lost contact with the learner" if not self.registered else
                              f"the learner did not take it within {timeout_s * 1000:.0f} ms")
        self._clear_batch()

    def _should_pace(self):
        w = self.welcome
        if not w.replay_ratio > 0:
            return False
        # at least two batches, and two updates' worth of transitions (the learner trains once
        # per 1 / ratio transitions; a smaller window would wait for it forever)
        window = max(0.5 * w.max_lead, 2.0 * w.batch_steps, 2.0 / w.replay_ratio)
        unconfirmed = self.session_sent - self.session_accepted
        if unconfirmed >= window and unconfirmed > 0:
            if _now() - self.accepted_changed > 10 * self.learner_timeout_s:
                log.warning("%d transitions were never confirmed by the learner; sending again",
                            unconfirmed)
                self.session_sent = self.session_accepted
                return False
            return True
        if self.version == 0:
            return False
        past = max(self.run_env_steps - w.start_steps, 0)
        if past - self.run_updates / w.replay_ratio <= window:
            self._backlog_wait = None
            self._backlog_free = 0
            return False
        if self._backlog_free > 0:
            self._backlog_free -= 1
            return False
        # training that has not moved for a second while this actor waits is waiting for data
        # itself (a rollback dropped the replay's rows): a batch goes anyway, and the learner's
        # own admission control decides
        now = _now()
        wait = self._backlog_wait
        if wait is None or wait[1] != self.run_updates:
            self._backlog_wait = (now, self.run_updates)
            return True
        if now - wait[0] < BACKLOG_STALL_S:
            return True
        self._backlog_wait = (now, self.run_updates)
        self._backlog_free = max(w.batch_steps - 1, 0)
        return False

    def _choose_action(self):
        e, w = self.envx, self.welcome
        if self.version == 0 or self.run_env_steps < w.start_steps:
            u = self.noise_rng.random(e.act_dim, dtype=np.float32)
            return (e.low + (e.high - e.low) * u).astype(np.float32)
        a = self.policy.act(self.obs)
        half = np.float32(0.5) * (e.high - e.low)
        if w.noise == NOISE_OU:
            self.ou += (w.ou_theta * (0.0 - self.ou) * w.ou_dt + w.noise_sigma *
                        math.sqrt(w.ou_dt) * self.noise_rng.standard_normal(e.act_dim)
                        ).astype(np.float32)
            noise = self.ou
        else:
            noise = w.noise_sigma * self.noise_rng.standard_normal(e.act_dim)
        return np.clip(a + (noise * half).astype(np.float32), e.low, e.high).astype(np.float32)

    def _new_episode(self):
        if self.episode_seed is not None:  # the first episode of a slot: seeded, then the
            self.obs = self.envx.reset(seed=self.episode_seed)  # env's own stream goes on
            self.episode_seed = None
        else:
            self.obs = self.envx.reset()
        self.ep_return, self.ep_len = 0.0, 0
        self.ou[:] = 0  # OU noise restarts per episode

    def _act_step(self):
        e = self.envx
        if self.obs is None:
            self._new_episode()
        action = self._choose_action()
        next_obs, reward, terminated, truncated = e.step(action)
        self.ep_len += 1
        if e.max_episode_steps and self.ep_len >= e.max_episode_steps:
            truncated = True
        if not (np.all(np.isfinite(next_obs)) and math.isfinite(reward)):
            self.result.env_errors += 1
            self._limited("env", 10, "%s: a step gave a non-finite observation or reward; "
                                     "the episode is cut", e.id)
            self.obs = None
            return
        self.b_obs.append(self.obs)
        self.b_act.append(action)
        self.b_rew.append(reward)
        self.b_next.append(next_obs)
        self.b_term.append(1.0 if terminated else 0.0)
        self.result.env_steps += 1
        self.ep_return += reward
        if terminated or truncated:
            self.result.episodes += 1
            self.b_eps.append((self.ep_return, self.ep_len))
            self.obs = None
        else:
            self.obs = next_obs
        if len(self.b_rew) >= self.welcome.batch_steps:
            self._flush(self.send_timeout_s)

    # ------------------------------------------------------------------------------------
    # Evaluation

    def evaluate(self, seed, n):
        """n deterministic episodes of the current policy, reset with td3d's evaluation seeds
        for a run seeded `seed`; returns their undiscounted returns."""
        e, returns = self.envx, []
        for s in eval_seeds(seed, n):
            obs, ret, t = e.reset(seed=s), 0.0, 0
            while True:
                obs, reward, terminated, truncated = e.step(self.policy.act(obs))
                ret += reward
                t += 1
                if terminated or truncated or (e.max_episode_steps and t >= e.max_episode_steps):
                    break
            returns.append(ret)
        return returns

    def _eval_step(self):
        w = self.welcome
        every = w.eval_every or 5000
        if self.resync_eval and self.run_env_steps > 0:
            if self.next_eval_at > self.run_env_steps + every:
                self.next_eval_at = (self.run_env_steps // every + 1) * every
            self.resync_eval = False
        if self.version == 0 or self.run_env_steps < self.next_eval_at:
            self.dealer.poll(5)
            return
        at, version = self.run_env_steps, self.version
        returns = self.evaluate(w.seed, w.eval_episodes or 10)
        rep = pb.EvalReport(protocol_version=PROTOCOL_VERSION, run_id=self.run_id, slot=w.slot,
                            policy_version=version, env_steps=at, returns=returns,
                            end_mark=END_MARK, **self._lease())
        self._send_control(eval_report=rep)
        self.result.evaluations += 1
        log.info("evaluation at %d env steps (weights %d): mean return %.1f over %d episodes",
                 at, version, sum(returns) / len(returns), len(returns))
        self.next_eval_at = (at // every + 1) * every
        if self.next_eval_at - at < every // 2:
            self.next_eval_at += every

    # ------------------------------------------------------------------------------------
    # The loop

    def run(self):
        """Runs the actor (see the class); returns its ActorResult or raises ActorRefused."""
        self._log_times = {}
        self.result = r = ActorResult()
        self.envx = _EnvAdapter(self.make_env(), self.env_id, self.max_episode_steps)
        self.registered = False
        self.run_id = self.slot = self.version = 0
        self.lease = (0, 0)
        self.last_hello = self.last_heartbeat = self.last_ack = -1e9
        self.hello_backoff, self.last_wait_log = 0.25, -1e9
        self._open()
        e = self.envx
        log.info("%s %s: %s (obs %d, act %d), learner %s (ports %d/%d/%d)",
                 "evaluator" if self.eval else "actor", self.name, e.id, e.obs_dim, e.act_dim,
                 self.learner, *self.ports)
        try:
            started_wait = _now()
            while not self._stop:
                self._check_handshake()
                self._poll_control()
                if r.run_over:
                    break
                self._poll_weights()
                now = _now()
                if not self.registered:
                    if now - self.last_hello > self.hello_backoff:
                        # the back-off grows only with Hellos that went out unanswered; one
                        # that could not leave goes out as the connection comes up
                        if self._send_hello():
                            self.hello_backoff = min(self.hello_backoff * 2, 4.0)
                        if now - self.last_wait_log > 10 and now - started_wait > 2:
                            log.info("waiting for the learner at %s (control port %d)",
                                     self.learner, self.ports[2])
                            self.last_wait_log = now
                    self.dealer.poll(50)
                    continue
                if now - self.last_ack > self.learner_timeout_s:
                    log.warning("no answer from the learner for %d ms; registering again",
                                self.learner_timeout_s * 1000)
                    self.registered = False
                    self.hello_backoff = 0.25
                    started_wait = now
                    continue
                if now - self.last_heartbeat > self.heartbeat_s:
                    self._send_heartbeat()
                if self.eval:
                    self._eval_step()
                    continue
                if self._should_pace():
                    t0 = _now()
                    zmq.select([self.sub, self.dealer], [], [], 0.005)
                    r.blocked_us += int((_now() - t0) * 1e6)
                    continue
                self._act_step()
                if self.max_env_steps and r.env_steps >= self.max_env_steps:
                    break
            if not self.eval and self.registered and not r.run_over:
                self._flush(self.send_timeout_s)
                self._await_confirmation()
            if self.registered and not r.run_over:
                self._send_heartbeat()  # final counts for the learner's table
        finally:
            r.policy_version = self.version
            self._close()
        return r


# ----------------------------------------------------------------------------------------
# Command line

def load_factory(spec):
    """MODULE:FUNCTION (the module imported from sys.path, the current directory first)."""
    module, sep, func = spec.partition(":")
    if not sep or not module or not func:
        raise ActorRefused("CONFIG", f"--env-factory '{spec}': use MODULE:FUNCTION, e.g. "
                                     "my_envs:make_pendulum")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ActorRefused("CONFIG", f"--env-factory: cannot import {module}: {e}")
    f = mod
    for part in func.split("."):
        f = getattr(f, part, None)
        if f is None:
            raise ActorRefused("CONFIG", f"--env-factory: {module} has no {func}")
    if not callable(f):
        raise ActorRefused("CONFIG", f"--env-factory: {module}:{func} is not callable")
    return f


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python3 -m td3d.actor",
        description="A td3d actor (or evaluator, --eval) for an environment written in Python: "
                    "it steps the env that MODULE:FUNCTION makes and streams transitions to a "
                    "td3d learner (td3d learner --env external:NAME --obs-dim N --act-dim M "
                    "--action-low X --action-high X).")
    p.add_argument("--learner", default="127.0.0.1", help="the learner's host (default "
                   "127.0.0.1)")
    p.add_argument("--env-factory", required=True, metavar="MODULE:FUNCTION",
                   help="a function that returns the env (Gymnasium's methods)")
    p.add_argument("--env-id", metavar="NAME", help="the env id the learner trains (its "
                   "--env external:NAME); default the env's spec.id or env_id")
    p.add_argument("--name", help="stable name across restarts; default HOST/pyPID")
    p.add_argument("--eval", action="store_true", help="evaluator: deterministic episodes, "
                   "EvalReports")
    p.add_argument("--experience-port", type=int, default=5555)
    p.add_argument("--weights-port", type=int, default=5556)
    p.add_argument("--control-port", type=int, default=5557)
    p.add_argument("--curve-key", metavar="FILE", help="CURVE: this actor's .key (td3d keygen)")
    p.add_argument("--curve-server", metavar="FILE", help="CURVE: the learner's .pub")
    p.add_argument("--eval-token-file", metavar="FILE", help="with --eval: the learner's "
                   "evaluator token (its --eval-token-file; mode 0600)")
    p.add_argument("--learner-timeout-ms", type=int, default=5000)
    p.add_argument("--max-env-steps", type=int, default=0, help="stop after N transitions")
    p.add_argument("--max-episode-steps", type=int, default=None,
                   help="truncate episodes at N steps (as well as where the env says)")
    p.add_argument("--log-level", default="info", choices=["error", "warn", "info", "debug"])
    a = p.parse_args(argv)
    logging.basicConfig(level={"warn": "WARNING"}.get(a.log_level, a.log_level.upper()),
                        format="%(asctime)s %(levelname).1s [td3d.actor] %(message)s",
                        stream=sys.stderr)
    try:
        actor = Actor(load_factory(a.env_factory), learner=a.learner, name=a.name,
                      eval=a.eval, env_id=a.env_id, experience_port=a.experience_port,
                      weights_port=a.weights_port, control_port=a.control_port,
                      curve_key=a.curve_key, curve_server=a.curve_server,
                      eval_token_file=a.eval_token_file,
                      learner_timeout_ms=a.learner_timeout_ms, max_env_steps=a.max_env_steps,
                      max_episode_steps=a.max_episode_steps)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: actor.stop())
        r = actor.run()
    except ActorRefused as e:
        print(f"td3d.actor: {e}", file=sys.stderr)
        return 2 if e.reason == "CONFIG" else 1
    print(f"td3d.actor {actor.name}: {r.env_steps} env steps, {r.sent} sent, {r.accepted} "
          f"accepted, {r.dropped} dropped, {r.episodes} episodes, {r.evaluations} evaluations, "
          f"weights version {r.policy_version}{', run over' if r.run_over else ''}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
