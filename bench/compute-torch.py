"""The PyTorch side of `node dist/bench/run.js compute` (bench/compute.ts): the same networks,
PPO gradient steps and act() calls, one thread, timed on request. A case with "recurrent"
puts an nn.LSTM between the observation and the towers: a step unrolls it over "length" steps
of batch / length sequences (time-major), act() steps it once, carrying its state. A measuring stick only; the
project never imports torch. Reads one JSON request a line on stdin, answers one a line:
  {"case": {...}, "steps": K}  ->  {"wall": ms, "cpu": ms}: per step, medians over the K steps
  {"info": true}               ->  {"torch": version, "blas": ..., "threads": 1}
"""
import json
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)


def network(c):
    """Policy and value towers as the case's model (conv encoder shared, MLP towers; an LSTM's output feeds the towers)."""
    layers, ch = [], None
    if c.get("image"):
        h, w, ch = c["image"]
        for l in c["conv"]:
            layers += [nn.Conv2d(ch, l["filters"], l["kernel"], l["stride"]), nn.ReLU()]
            h, w, ch = (h - l["kernel"]) // l["stride"] + 1, (w - l["kernel"]) // l["stride"] + 1, l["filters"]
        layers.append(nn.Flatten())
        features = h * w * ch
    else:
        features = c["obs"]
    encoder = nn.Sequential(*layers)
    if c.get("recurrent"):
        features = c["recurrent"]["size"]
    act = nn.ReLU if c["activation"] == "relu" else nn.Tanh

    def tower(out):
        mods, size = [], features
        for n in c["hidden"]:
            mods += [nn.Linear(size, n), act()]
            size = n
        return nn.Sequential(*mods, nn.Linear(size, out))

    if c.get("shared"):
        body = tower(c["hidden"][-1])[:-1]
        return encoder, body, nn.Linear(c["hidden"][-1], c["actions"]), nn.Linear(c["hidden"][-1], 1)
    return encoder, None, tower(c["actions"]), tower(1)


class Case:
    def __init__(self, c):
        self.c = c
        self.encoder, self.body, self.pi, self.vf = network(c)
        r = c.get("recurrent")
        self.rnn = nn.LSTM(c["obs"], r["size"]) if r else None
        params = [p for m in (self.encoder, self.rnn, self.body, self.pi, self.vf) if m is not None for p in m.parameters()]
        self.params = params
        self.opt = torch.optim.Adam(params, lr=3e-4, eps=1e-5)
        b = c["batch"]
        shape = (b, c["image"][2], c["image"][0], c["image"][1]) if c.get("image") else (b, c["obs"])
        g = torch.Generator().manual_seed(1)
        self.obs = (torch.rand(shape, generator=g) < 0.2).float() if c.get("image") else torch.randn(shape, generator=g)
        self.actions = torch.randint(0, c["actions"], (b,), generator=g)
        self.adv = torch.randn(b, generator=g)
        self.old_logp = -torch.log(torch.tensor(float(c["actions"]))) + 0.3 * (torch.rand(b, generator=g) - 0.5)
        self.old_v = torch.rand(b, generator=g) - 0.5
        self.ret = torch.randn(b, generator=g)
        if r:
            seqs = b // r["length"] if c["kind"] == "step" else b
            self.state = (torch.zeros(1, seqs, r["size"]), torch.zeros(1, seqs, r["size"]))

    def heads(self, obs):
        x = self.encoder(obs)
        if self.rnn is not None:
            steps = self.c["recurrent"]["length"] if self.c["kind"] == "step" else 1
            out, state = self.rnn(x.view(steps, -1, x.shape[-1]), self.state)
            if self.c["kind"] == "act":
                self.state = state
            x = out.reshape(-1, out.shape[-1])
        if self.body is not None:
            h = self.body(x)
            return self.pi(h), self.vf(h).squeeze(-1)
        return self.pi(x), self.vf(x).squeeze(-1)

    def step(self):
        """One PPO minibatch step as CleanRL's: clipped surrogate, clipped value loss, entropy, clip 0.5, Adam."""
        logits, v = self.heads(self.obs)
        logp_all = torch.log_softmax(logits, -1)
        logp = logp_all.gather(1, self.actions[:, None]).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        ratio = (logp - self.old_logp).exp()
        pg = torch.max(-self.adv * ratio, -self.adv * ratio.clamp(0.8, 1.2)).mean()
        vc = self.old_v + (v - self.old_v).clamp(-0.2, 0.2)
        vl = 0.5 * torch.max((v - self.ret) ** 2, (vc - self.ret) ** 2).mean()
        loss = pg - 0.01 * entropy.mean() + 0.5 * vl
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, 0.5)
        self.opt.step()
        return loss.item()

    def act(self):
        """act(): a forward pass and a sampled action per row, read out as numbers."""
        with torch.no_grad():
            logits, v = self.heads(self.obs)
            a = torch.multinomial(torch.softmax(logits, -1), 1)
            return a.numpy(), v.numpy()


cases = {}
for line in sys.stdin:
    req = json.loads(line)
    if req.get("info"):
        # The BLAS and oneDNN libraries this process mapped (Debian's torch takes libblas.so.3 from update-alternatives).
        with open("/proc/self/maps") as f:
            libs = sorted({l.split()[-1].split("/")[-2] + "/" + l.split()[-1].split("/")[-1] for l in f if ("blas" in l or "dnnl" in l or "mkl" in l) and "/" in l})
        print(json.dumps({"torch": torch.__version__, "libraries": libs, "threads": torch.get_num_threads()}), flush=True)
        continue
    c = req["case"]
    key = json.dumps(c, sort_keys=True)
    if key not in cases:
        cases[key] = Case(c)
        for _ in range(3):
            cases[key].act() if c["kind"] == "act" else cases[key].step()
    case = cases[key]
    run = case.act if c["kind"] == "act" else case.step
    wall, cpu = [], []
    for _ in range(req["steps"]):
        c, t = time.process_time(), time.perf_counter()
        run()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(json.dumps({"wall": 1000 * sorted(wall)[len(wall) // 2], "cpu": 1000 * sorted(cpu)[len(cpu) // 2]}), flush=True)
