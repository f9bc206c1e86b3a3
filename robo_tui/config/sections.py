"""What every config section is made of, in a module light enough for a strategy to import.

`Section` carries the rules every `[table]` follows (unknown keys are errors, attribute
docstrings document fields, numbers are finite and never booleans: see `numbers`).
`StrategySettings` is what each `[strategies.<name>]` section holds; a strategy's module
subclasses it with its parameters, and `models` derives the `[strategies]` table from the
`STRATEGIES` registry. This module imports neither the registries nor the engine, so a strategy
module may import it while the config is still being built.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from robo_tui.config.numbers import refuse_bool_for_number


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, docstrings document fields."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_default=True,
                              allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields.get(info.field_name or "")
        return value if field is None else refuse_bool_for_number(value, field.annotation)


class StrategySettings(Section):
    """What every `[strategies.<name>]` section holds; a strategy's parameters extend it (in the
    strategy's own module, named by its `settings_model`)."""

    enabled: bool = True
    """Whether this strategy votes."""
    weight: float = Field(1.0, ge=0, le=10)
    """Its weight in the ensemble."""
