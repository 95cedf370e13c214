"""A backend that streams a reply into a user's chatsync thread, with Python's standard library only.

Every device of the user sees the reply arrive live, and it is kept even if no tab is open.

    CHATSYNC_URL=http://127.0.0.1:8787 CHATSYNC_TOKEN=<the user's token> python3 stream_reply.py

With THREAD_ID set it answers the last user message of that thread; without, it creates a thread
with a question first. It prints the finished message as JSON.
"""

import http.client
import json
import os
import time
import urllib.parse

BASE = urllib.parse.urlsplit(os.environ.get("CHATSYNC_URL", "http://127.0.0.1:8787"))
TOKEN = os.environ["CHATSYNC_TOKEN"]


def connection():
    return http.client.HTTPConnection(BASE.hostname, BASE.port or 80, timeout=30)


def call(kind, path, args):
    """One /api/mutation or /api/query call; raises with the relay's code and message."""
    conn = connection()
    body = json.dumps({"path": path, "args": args})
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    conn.request("POST", f"/api/{kind}", body=body, headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {answer['code']}: {answer['message']}")
    return answer["value"]


def model(prompt):
    """Stands in for an LLM: yields a reply to `prompt` a word at a time."""
    reply = f'You asked: "{prompt}". Automerge merges every replica\'s changes without conflicts.'
    for word in reply.split(" "):
        time.sleep(0.015)
        yield word + " "


def stream_reply(thread_id, message_id, prompt):
    """POSTs the reply as NDJSON while it is generated (chunked: the body has no length)."""

    def lines():
        yield json.dumps({"threadId": thread_id, "messageId": message_id, "model": "example-model"}) + "\n"
        words = 0
        for delta in model(prompt):
            words += 1
            yield json.dumps({"delta": delta}) + "\n"
        usage = {"inputTokens": 5, "outputTokens": words}
        yield json.dumps({"finish": {"status": "complete", "usage": usage}}) + "\n"

    conn = connection()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
    body = (line.encode() for line in lines())
    conn.request("POST", "/api/stream", body=body, headers=headers, encode_chunked=True)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"stream: {response.status} {answer['code']}: {answer['message']}")
    return answer["value"]


def main():
    thread_id = os.environ.get("THREAD_ID")
    if not thread_id:
        thread_id = call("mutation", "threads:create", {"title": "Asked from Python"})["id"]
        call("mutation", "messages:append", {"threadId": thread_id, "role": "user", "content": "What is Automerge?"})
    # Build the prompt from the thread, as an agent would.
    view = call("query", "threads:get", {"threadId": thread_id})
    questions = [m["content"] for m in view["messages"] if m["role"] == "user"]
    message = stream_reply(thread_id, f"reply-{time.time_ns()}", questions[-1] if questions else "")
    print(json.dumps({"threadId": thread_id, "message": message}))


if __name__ == "__main__":
    main()
