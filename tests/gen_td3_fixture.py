#!/usr/bin/env python3
"""Writes the golden fixture of tests/test_td3.c: four TD3 iterations computed by PyTorch.

The update follows the authors' code (sfujim/TD3, TD3.py train()) step by step, with the
generalisations td3d makes: per-dimension action bounds (actor output mid + half * tanh(z),
smoothing noise and clip as fractions of half the range) and an explicit terminal flag. The C
test loads the initial networks, replays the same batches and smoothing-noise draws through
td3_train_with_noise and compares every parameter and loss after each iteration.

Run by hand when the update's semantics change (Debian's python3-torch; with pyenv first on
PATH, call /usr/bin/python3):
    /usr/bin/python3 tests/gen_td3_fixture.py tests/fixtures/td3_golden.txt

Choices that make a wrong implementation visible:
- the target networks are initialised independently of the online ones (not copies), so a
  Polyak step moves each target weight by about tau * 0.2, far above the test tolerance;
- learning rates 1e-3 (actor) and 2e-3 (critics) so that every Adam step moves each weight by
  up to 1e-3 and a swapped learning rate shows;
- policy_noise 0.5 and noise_clip 0.8 with a few draws forced to +-3, so the noise clip and the
  action-bound clip both bind (the script checks that they did);
- asymmetric action bounds, terminal rows in every batch, 4 iterations with policy_delay 2 so
  that iterations 2 and 4 update the actor and the targets and 1 and 3 do not.

Format: text, one record per line, tokens separated by one space.
    td3_golden 1
    dims <obs> <act> <n_hidden> <h_1> ... <h_n> <batch> <iterations> <policy_delay>
    hyper <gamma> <tau> <actor_lr> <critic_lr> <beta1> <beta2> <eps> <policy_noise> <noise_clip>
    f <name> <count> <hex>   count float32 values; each is the 8 lowercase hex digits of its
                             IEEE-754 bit pattern ('%08x' of the uint32), concatenated
    same <name>              network <name> is bitwise equal to its previous record
    iter <k>                 starts iteration k (1-based)
    end
Records, in order: f low, f high (act), then the initial networks f actor, f actor_target,
f critic1, f critic2, f critic1_target, f critic2_target (parameter layout of common/nn/nn.h:
per linear layer the weight (out, in) row-major, then the bias). Each iteration then has the
batch f obs (batch, obs), f action (batch, act), f reward (batch), f next_obs (batch, obs),
f terminal (batch), f noise (batch, act: the N(0,1) draws), the expected f critic_loss (1),
f actor_loss (1, actor iterations only), f mean_q (1, mean Q1(s, a) before the critic step),
and the six networks after the iteration (f or same, same names as above).
"""
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OBS, ACT, HIDDEN, BATCH, ITERS, DELAY = 3, 2, (32, 32), 16, 4, 2
GAMMA, TAU, ACTOR_LR, CRITIC_LR = 0.99, 0.005, 1e-3, 2e-3
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
POLICY_NOISE, NOISE_CLIP = 0.5, 0.8
LOW, HIGH = [-2.0, -1.0], [2.0, 3.0]
NETS = ["actor", "actor_target", "critic1", "critic2", "critic1_target", "critic2_target"]

torch.set_num_threads(1)
torch.manual_seed(20240611)
low, high = torch.tensor(LOW), torch.tensor(HIGH)
mid, half = (high + low) / 2, (high - low) / 2


class MLP(nn.Module):
    """ReLU hidden layers, linear output; torch's default nn.Linear initialisation."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)

    def flat(self):
        return torch.cat([t.detach().reshape(-1) for l in self.layers for t in (l.weight, l.bias)])


class Actor(MLP):
    def __init__(self):
        super().__init__([OBS, *HIDDEN, ACT])

    def forward(self, state):
        return mid + half * torch.tanh(super().forward(state))


class Critic(MLP):
    def __init__(self):
        super().__init__([OBS + ACT, *HIDDEN, 1])

    def forward(self, state, action):
        return super().forward(torch.cat([state, action], 1))


def hexes(t):
    return "".join("%08x" % struct.unpack("<I", struct.pack("<f", x))[0]
                   for x in t.reshape(-1).tolist())


def main(path):
    nets = {"actor": Actor(), "actor_target": Actor(), "critic1": Critic(), "critic2": Critic(),
            "critic1_target": Critic(), "critic2_target": Critic()}
    actor_opt = torch.optim.Adam(nets["actor"].parameters(), lr=ACTOR_LR, betas=(BETA1, BETA2),
                                 eps=EPS)
    critic_opt = torch.optim.Adam(list(nets["critic1"].parameters()) +
                                  list(nets["critic2"].parameters()),
                                  lr=CRITIC_LR, betas=(BETA1, BETA2), eps=EPS)
    out = ["td3_golden 1",
           "dims %d %d %d %s %d %d %d" % (OBS, ACT, len(HIDDEN), " ".join(map(str, HIDDEN)),
                                         BATCH, ITERS, DELAY),
           "hyper %r %r %r %r %r %r %r %r %r" % (GAMMA, TAU, ACTOR_LR, CRITIC_LR, BETA1, BETA2,
                                                 EPS, POLICY_NOISE, NOISE_CLIP)]

    def rec(name, t):
        out.append("f %s %d %s" % (name, t.numel(), hexes(t)))

    rec("low", low)
    rec("high", high)
    previous = {}
    for name in NETS:
        previous[name] = nets[name].flat().clone()
        rec(name, previous[name])

    noise_clipped = bound_clipped = 0
    for it in range(1, ITERS + 1):
        state = torch.randn(BATCH, OBS)
        action = low + (high - low) * torch.rand(BATCH, ACT)
        reward = torch.randn(BATCH, 1)
        next_state = torch.randn(BATCH, OBS)
        terminal = (torch.rand(BATCH, 1) < 0.2).float()
        terminal[it % BATCH] = 1.0
        terminal[(it + 7) % BATCH] = 0.0
        eps = torch.randn(BATCH, ACT)
        eps[0, 0], eps[1, 1], eps[2, 0] = 3.0, -3.0, 2.9
        out.append("iter %d" % it)
        for name, t in (("obs", state), ("action", action), ("reward", reward),
                        ("next_obs", next_state), ("terminal", terminal), ("noise", eps)):
            rec(name, t)

        with torch.no_grad():
            raw = eps * (POLICY_NOISE * half)
            noise = torch.max(torch.min(raw, NOISE_CLIP * half), -NOISE_CLIP * half)
            noise_clipped += int((noise != raw).sum())
            unclipped = nets["actor_target"](next_state) + noise
            next_action = torch.max(torch.min(unclipped, high), low)
            bound_clipped += int((next_action != unclipped).sum())
            target_q = torch.min(nets["critic1_target"](next_state, next_action),
                                 nets["critic2_target"](next_state, next_action))
            not_done = 1.0 - terminal
            target_q = reward + not_done * GAMMA * target_q

        q1, q2 = nets["critic1"](state, action), nets["critic2"](state, action)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        mean_q = q1.detach().mean()
        critic_opt.zero_grad()
        critic_loss.backward()
        critic_opt.step()
        rec("critic_loss", critic_loss.detach().reshape(1))

        if it % DELAY == 0:
            actor_loss = -nets["critic1"](state, nets["actor"](state)).mean()
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            rec("actor_loss", actor_loss.detach().reshape(1))
            with torch.no_grad():
                for src, dst in (("critic1", "critic1_target"), ("critic2", "critic2_target"),
                                 ("actor", "actor_target")):
                    for p, tp in zip(nets[src].parameters(), nets[dst].parameters()):
                        tp.data.copy_(TAU * p.data + (1 - TAU) * tp.data)
        rec("mean_q", mean_q.reshape(1))

        for name in NETS:
            now = nets[name].flat().clone()
            if torch.equal(now, previous[name]):
                out.append("same %s" % name)
            else:
                rec(name, now)
            previous[name] = now
    out.append("end")

    if noise_clipped == 0 or bound_clipped == 0:
        sys.exit("fixture does not exercise the clips (noise %d, bounds %d): change the seed"
                 % (noise_clipped, bound_clipped))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("%s: %d lines; noise clipped %d times, actions clipped to bounds %d times"
          % (path, len(out), noise_clipped, bound_clipped))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen_td3_fixture.py OUTPUT")
    main(sys.argv[1])
