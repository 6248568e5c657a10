"""Check that a summary invents no amounts: every number in the output appears in the clause."""

import re

NUMBER = re.compile(r"\d[\d,.]*")


def get_assert(output: str, context: dict) -> dict:
    clause = context["vars"]["clause"]
    known = {n.rstrip(".,").replace(",", "") for n in NUMBER.findall(clause)}
    invented = [n for n in NUMBER.findall(output) if n.rstrip(".,").replace(",", "") not in known]
    if invented:
        return {"pass": False, "score": 0.0, "reason": f"amounts not in the clause: {invented}"}
    return {"pass": True, "score": 1.0, "reason": "no invented amounts"}
