"""The graph reach of a backpropagated loss (model/reach.py): which modules' parameters it reaches."""
import textwrap

import libcst as cst

from zerolint.model import SemanticModel, facts as F

HEADER = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, s):
        return self.fc(s)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 1)

    def forward(self, s, a):
        return self.fc(torch.cat([s, a], 1))
"""


def _reaches(body: str) -> list:
    """For each backward() in order: the owners (by optimizer text) of the modules its loss reaches, or None."""
    source = HEADER + textwrap.dedent(body)
    model = SemanticModel(cst.parse_module(source), "<test>")
    params = {e.data["optimizer"]: e.data.get("params") for e in model.events(F.STEP)}
    out = []
    for event in model.events(F.BACKWARD):
        reach = event.data.get("reach")
        out.append(None if reach is None else
                   sorted(name for name, p in params.items() if p is not None and reach & p))
    return out


LOOP = """
def train(loader):
    actor, critic = Actor(), Critic()
    actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-4)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    for s, a, r, s2 in loader:
{body}
        actor_opt.step()
        critic_opt.step()
"""


def _loop(body: str) -> list:
    return _reaches(LOOP.format(body=textwrap.indent(textwrap.dedent(body), " " * 8)))


def test_module_calls_through_arithmetic_and_methods():
    assert _loop("(-critic(s, actor(s)).mean()).backward()") == [["actor_opt", "critic_opt"]]


def test_detach_cuts_the_graph():
    assert _loop("critic(s, actor(s).detach()).mean().backward()") == [["critic_opt"]]
    assert _loop("(critic(s, a).item() * actor(s)).sum().backward()") == [["actor_opt"]]


def test_no_grad_cuts_the_graph():
    assert _loop("""
        with torch.no_grad():
            target = r + 0.99 * critic(s2, actor(s2))
        loss = F.mse_loss(critic(s, a), target)
        loss.backward()
    """) == [["critic_opt"]]


def test_helper_return_and_tuple_elements():
    source = LOOP.format(body="        actor_loss, critic_loss = losses(actor, critic, s, a)\n"
                              "        critic_loss.backward()\n        actor_loss.backward()") + """
def losses(actor, critic, s, a):
    return -critic(s, actor(s)).mean(), F.mse_loss(critic(s, a), torch.zeros(8, 1))
"""
    assert _reaches(source) == [["critic_opt"], ["actor_opt", "critic_opt"]]


def test_self_attributes_of_a_trainer_class():
    assert _reaches("""
    class Agent:
        def __init__(self):
            self.actor = Actor()
            self.critic = Critic()
            self.actor_opt = torch.optim.Adam(self.actor.parameters())
            self.critic_opt = torch.optim.Adam(self.critic.parameters())
            self.saved = []

        def act(self, s):
            self.saved.append(self.actor(s))

        def update(self):
            loss = torch.stack(self.saved).sum()
            loss.backward()
            self.actor_opt.step()
            self.critic_opt.step()

    def run(agent, loader):
        for s in loader:
            agent.act(s)
            agent.update()

    run(Agent(), [])
    """) == [["self.actor_opt"]]


def test_unknown_stays_unknown():
    assert _loop("build_loss(actor, s).backward()") == [None]  # a function we cannot read
    assert _loop("""
        net = make_model()
        net(s).sum().backward()
    """) == [None]
