"""A plan of several routed steps, one model's output into the next (`datadao route --plan`).

A plan is a JSON document:

    {"steps": [{"task": "feature-extraction"},
               {"task": "text-classification", "input": {"x": "$.scaled"},
                "max_price": "1000000000000000"}]}

Each step is routed (`Router.route`) and paid on its own. A step's input is the previous
step's output (the plan's input for the first) or, with `input`, a template over it: a string
`"$"` is the whole previous output, `"$.a.b"` its member `a.b` (`"$.items.0"`: an array index);
every other value is taken as it is. A step that cannot be routed stops the plan: the steps
before it are paid, and the error names the step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dapp.client.routing import Router, RouteResult
from dapp.errors import DappError, InvalidInput
from dapp.tasks import check_task

MAX_STEPS = 16


@dataclass(frozen=True)
class PlanStep:
    task: str
    input: Any = None  # a template over the previous output; None: the output itself
    max_price: int | None = None


@dataclass
class PlanResult:
    steps: list[RouteResult]

    @property
    def output(self) -> Any:
        return self.steps[-1].output

    def as_json(self) -> dict[str, Any]:
        paid = sum(int(a.paid) for step in self.steps for a in step.attempts)
        return {"output": self.output, "paid": str(paid),
                "steps": [step.as_json() for step in self.steps]}


def parse_plan(document: Any) -> list[PlanStep]:
    steps = document.get("steps") if isinstance(document, dict) else None
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidInput(f"a plan is {{\"steps\": [...]}} with 1 to {MAX_STEPS} steps")
    return [_step(index, step) for index, step in enumerate(steps, 1)]


def _step(index: int, step: Any) -> PlanStep:
    if not isinstance(step, dict) or not isinstance(step.get("task"), str):
        raise InvalidInput(f"plan step {index} needs a \"task\"")
    unknown = sorted(set(step) - {"task", "input", "max_price"})
    if unknown:
        raise InvalidInput(f"plan step {index}: unknown member {unknown[0]!r}",
                           hint="a step has task, input (optional), max_price (optional)")
    limit = step.get("max_price")
    try:
        max_price = None if limit is None else int(str(limit))
    except ValueError:
        raise InvalidInput(f"plan step {index}: max_price is base units, an integer") from None
    if max_price is not None and max_price < 0:
        raise InvalidInput(f"plan step {index}: max_price must not be negative")
    return PlanStep(check_task(step["task"]), step.get("input"), max_price)


def fill(template: Any, previous: Any) -> Any:
    """The template with its `$` references replaced from `previous`."""
    if isinstance(template, str) and (template == "$" or template.startswith("$.")):
        value = previous
        for part in template.split(".")[1:]:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise InvalidInput(f"{template}: the previous output has no {part!r}")
        return value
    if isinstance(template, dict):
        return {key: fill(value, previous) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, previous) for value in template]
    return template


def run_plan(router: Router, steps: list[PlanStep], body: Any,
             max_price: int | None = None) -> PlanResult:
    """Route every step in turn, each paid by its own provider, at most its `max_price` (else
    `max_price`, else the provider's price on chain) per call."""
    results: list[RouteResult] = []
    previous = body
    for index, step in enumerate(steps, 1):
        try:
            step_input = previous if step.input is None else fill(step.input, previous)
            limit = max_price if step.max_price is None else step.max_price
            result = router.route(step.task, step_input, limit)
        except DappError as error:
            error.message = f"plan step {index} ({step.task}): {error.message}"
            error.details["steps_done"] = [r.as_json() for r in results]
            raise
        results.append(result)
        previous = result.output
    return PlanResult(results)
