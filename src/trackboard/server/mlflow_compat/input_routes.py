"""MLflow's run inputs and outputs: datasets and models a run used, models it produced."""

from fastapi import APIRouter, Request, Response

from trackboard.server.errors import InvalidParameter
from trackboard.server.identifiers import parse_model_id
from trackboard.server.logged_models import service as logged_models
from trackboard.server.mlflow_compat import schemas
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import missing_value, read_message
from trackboard.server.mlflow_compat.run_routes import active_run
from trackboard.server.mlflow_compat.translate import json_response
from trackboard.server.run_inputs import service as run_inputs
from trackboard.server.run_inputs.schemas import DatasetIn, DatasetInputIn
from trackboard.server.unit_of_work import WriteSession

router = APIRouter(route_class=MlflowRoute)


def _dataset_input(item: schemas.DatasetInputIn, index: int) -> DatasetInputIn:
    dataset = item.dataset
    path = f"datasets[{index}].dataset"
    if dataset is None:
        raise InvalidParameter(missing_value(path))
    for name in ("name", "digest"):
        if not getattr(dataset, name):
            raise InvalidParameter(f"Dataset {name} cannot be None")
    tags = []
    for tag_index, tag in enumerate(item.tags):
        if tag.key is None or tag.value is None:
            raise InvalidParameter(missing_value(f"datasets[{index}].tags[{tag_index}]"))
        tags.append((tag.key, tag.value))
    return DatasetInputIn(
        DatasetIn(
            name=str(dataset.name),
            digest=str(dataset.digest),
            source_type=dataset.source_type or "",
            source=dataset.source or "",
            schema=dataset.schema_,
            profile=dataset.profile,
        ),
        tags,
    )


@router.post("/runs/log-inputs")
async def log_inputs(request: Request, session: WriteSession) -> Response:
    """Dataset inputs with every field the client sends, and the models the run used."""
    message = await read_message(request, schemas.LogInputs)
    run_id = message.required_run_id()
    datasets = [_dataset_input(item, index) for index, item in enumerate(message.datasets)]
    model_ids = [
        parse_model_id(model.model_id) for model in message.models if model.model_id is not None
    ]
    await active_run(session, run_id)
    if datasets:
        await run_inputs.log_dataset_inputs(session, run_id, datasets)
    if model_ids:
        await logged_models.link_inputs(session, run_id, model_ids)
    return json_response({})


@router.post("/runs/outputs")
async def log_outputs(request: Request, session: WriteSession) -> Response:
    """Models the run produced, each at a step (`mlflow.<flavor>.log_model` sends one)."""
    message = await read_message(request, schemas.LogOutputs)
    run_id = message.required_run_id()
    if message.models is None:
        raise InvalidParameter(missing_value("models"))
    outputs = []
    for index, model in enumerate(message.models):
        if not model.model_id:
            raise InvalidParameter(missing_value(f"models[{index}].model_id"))
        outputs.append((parse_model_id(model.model_id), model.step or 0))
    await active_run(session, run_id)
    await logged_models.link_outputs(session, run_id, outputs)
    return json_response({})
