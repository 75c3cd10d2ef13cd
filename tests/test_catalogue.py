"""The catalogue's contracts: a declaration that breaks its category's rules is refused when it
is registered, with what is wrong, instead of failing somewhere later."""

from __future__ import annotations

import dataclasses

import pytest

from composer import catalogue
from composer.catalogue import CatalogueError, Port, register
from composer.generate.embed import runtime_index
from composer.params import Float, Int


def _refused(node_type) -> str:
    with pytest.raises(CatalogueError) as e:
        register(node_type)
    return str(e.value)


def _renamed(type_id: str, new_id: str, **changes):
    return dataclasses.replace(catalogue.get(type_id), id=new_id, aliases=(), **changes)


def test_a_loss_without_a_weight_is_refused():
    mse = catalogue.get("loss.mse")
    message = _refused(_renamed("loss.mse", "loss.mine", params=()))
    assert message.startswith("loss.mine: ") and "parameter `weight`" in message
    assert catalogue.get("loss.mine") is None and mse.param("weight") is not None


def test_a_loss_whose_output_is_not_named_loss_is_refused():
    message = _refused(_renamed("loss.mse", "loss.mine2", outputs=(Port("out", "loss"),)))
    assert 'Port("loss", "loss")' in message


def test_a_weight_that_is_not_a_float_is_refused():
    assert isinstance(catalogue.get("loss.mse").param("weight"), Float)
    message = _refused(_renamed("loss.mse", "loss.mine3", params=(Int("weight", 1),)))
    assert "Float parameter `weight`" in message


def test_a_data_node_that_emits_nothing_is_refused():
    message = _refused(_renamed("data.digits", "data.mine", emit_data=None))
    assert "emit_data" in message


def test_an_unknown_port_kind_is_refused():
    message = _refused(_renamed("layer.relu", "layer.mine", outputs=(Port("out", "image"),)))
    assert "unknown kind 'image'" in message


def test_key_parameters_must_be_declared():
    message = _refused(_renamed("layer.linear", "layer.mine2", key_params=("units",)))
    assert "key parameter 'units'" in message


def test_a_type_declared_twice_is_refused():
    assert "declared twice" in _refused(catalogue.get("layer.relu"))


def test_every_runtime_helper_a_type_names_is_defined_in_the_runtime():
    definitions, _ = runtime_index()
    missing = {(t.id, name) for t in catalogue.all_types() for name in t.runtime
               if name not in definitions}
    assert missing == set()


def test_every_registered_type_keeps_its_contract():
    assert {t.id: catalogue.contract_problems(t) for t in catalogue.all_types()
            if catalogue.contract_problems(t)} == {}


def test_every_pair_of_port_kinds_is_accepted_or_refused_with_a_reason():
    from composer.catalogue import kinds

    for output in kinds.ACCEPTS:
        for given in kinds.ACCEPTS:
            reason = kinds.refusal(output, given, "layer.x n.in")
            assert (reason is None) == kinds.accepts(given, output)
            assert reason is None or reason.strip()


def test_every_optimizer_and_lr_schedule_has_what_generated_code_calls():
    from composer.optim import LR_FUNCTIONS, LR_SCHEDULES, OPTIMIZER_CLASSES, OPTIMIZERS

    definitions, _ = runtime_index()
    assert set(OPTIMIZER_CLASSES) == set(OPTIMIZERS)
    assert set(LR_FUNCTIONS) == set(LR_SCHEDULES) - {"constant"}
    assert all(name in definitions for name in LR_FUNCTIONS.values())
