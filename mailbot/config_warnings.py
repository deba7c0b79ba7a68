"""Warnings about a configuration that validates: legitimate, but probably not what the operator meant."""

from __future__ import annotations

from collections.abc import Mapping

from mailbot.support_settings import EscalationLevel, EscalationSettings, EscalationStep, PlanSettings, TargetSettings


def is_manager_step(step: EscalationStep, levels: Mapping[str, EscalationLevel]) -> bool:
    """A step that mails someone above the case's engineers: a configured level with at least one person."""
    level = levels.get(step.notify)
    return step.notify != "assigned" and level is not None and bool(level.people)


def step_covers(step: EscalationStep, plan_name: str, priority: str, target: TargetSettings) -> bool:
    """The step can fall due for a case of this plan and priority: it matches both and its clock has a target."""
    clock_target = target.first_response if step.clock == "response" else target.resolution
    return ((not step.plans or plan_name in step.plans) and (not step.priorities or priority in step.priorities)
            and clock_target is not None)


def unescalated_priorities(plan_name: str, plan: PlanSettings, escalation: EscalationSettings) -> list[str]:
    """Priorities with SLA targets whose breach no escalation step takes to a manager level (in scheme order)."""
    manager_steps = [step for step in escalation.steps if is_manager_step(step, escalation.levels)]
    return [priority for priority in plan.priorities if (target := plan.targets.get(priority)) is not None
            and (target.first_response or target.resolution)
            and not any(step_covers(step, plan_name, priority, target) for step in manager_steps)]


def escalation_warnings(plans: Mapping[str, PlanSettings], escalation: EscalationSettings) -> list[str]:
    """check-config's warnings: plans whose targets can be missed without any manager hearing of it."""
    warnings = []
    for name, plan in plans.items():
        missing = unescalated_priorities(name, plan, escalation)
        if missing:
            warnings.append(f"plans.{name}: SLA targets for {', '.join(missing)} but no escalation step reaches a manager"
                            " level for them: add [[escalation.steps]] for the plan with notify = a level that has people")
    return warnings
