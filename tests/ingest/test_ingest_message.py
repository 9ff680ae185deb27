import numpy as np
import pytest

from trackboard.server.backends.queue import LocalQueue
from trackboard.server.metrics.ingest.message import (
    EncodedQueue,
    IngestMessage,
    PoisonMessageError,
    decode_message,
    encode_message,
)
from trackboard.server.metrics.points import Points
from trackboard.server.observability.prometheus import Instruments


def points(n: int, start: int = 0) -> Points:
    steps = np.arange(start, start + n, dtype=np.int64)
    return Points(steps, steps * 10, np.linspace(0, 1, n))


def test_a_message_round_trips_with_its_columns_and_header() -> None:
    message = IngestMessage(
        "r" * 32, 7, "b-1", {"loss": points(5), "acc/top1": points(3, 9)}, 123, token=4
    )
    decoded = decode_message(encode_message(message))
    assert (decoded.run_id, decoded.experiment_id, decoded.batch_id) == ("r" * 32, 7, "b-1")
    assert (decoded.accepted_at_ns, decoded.token) == (123, 4)
    assert list(decoded.series) == ["loss", "acc/top1"]
    for key, original in message.series.items():
        assert np.array_equal(decoded.series[key].steps, original.steps)
        assert np.array_equal(decoded.series[key].timestamps, original.timestamps)
        assert np.array_equal(decoded.series[key].values, original.values)


def test_non_finite_values_survive_the_queue() -> None:
    values = np.array([np.nan, np.inf, -np.inf, -0.0])
    steps = np.arange(4, dtype=np.int64)
    message = IngestMessage("r", 1, None, {"x": Points(steps, steps, values)}, 0)
    decoded = decode_message(encode_message(message)).series["x"].values
    assert np.array_equal(decoded.view(np.int64), values.view(np.int64))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage that is not a message",
        b"TBM1\x05\x00\x00\x00{bad}",
        encode_message(IngestMessage("r", 1, None, {"x": points(3)}, 0))[:-1],
        encode_message(IngestMessage("r", 1, None, {"x": points(3)}, 0)) + b"\x00",
        encode_message(IngestMessage("r", 1, None, {"../x": points(3)}, 0)),
        encode_message(IngestMessage("r", 1, "b" * 65, {"x": points(3)}, 0)),
    ],
)
def test_anything_the_api_could_not_have_sent_is_poison(body: bytes) -> None:
    with pytest.raises(PoisonMessageError):
        decode_message(body)


async def test_an_encoded_queue_carries_messages_as_bytes_and_dead_letters_poison() -> None:
    raw = LocalQueue[bytes]()
    instruments = Instruments()
    queue = EncodedQueue(raw, instruments)
    message = IngestMessage("r" * 32, 7, "b-1", {"loss": points(5)}, 123)
    await raw.publish(b"not a message")
    await queue.publish(message)
    received = await queue.receive(10, 1.0)
    assert [delivery.body.batch_id for delivery in received] == ["b-1"]
    assert np.array_equal(received[0].body.series["loss"].values, points(5).values)
    assert [letter.body for letter in raw.dead_letters] == [b"not a message"]
    assert raw.dead_letters[0].reason == "not a Trackboard metric message"
    assert instruments.registry.get_sample_value("trackboard_ingest_dead_letters_total") == 1
    await queue.ack(received)
    assert await queue.depth() == 0
