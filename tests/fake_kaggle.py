"""The real kaggle command with only its network replaced (tests/test_kaggle.py puts it on PATH as `kaggle`).

Everything up to the HTTP request is kaggle's own code: its argument parser, its credential lookup, its
output printing. Each request the CLI sends is answered from the JSON file $FAKE_KAGGLE_ANSWERS, by the
API method at the end of its URL (e.g. ListSubmissions); a method without an answer gets {}; {"__sequence__": [a, b]}
answers a the first time, then b every time after (a notebook that runs, then completes). The command
line and every request are appended to $FAKE_KAGGLE_LOG as JSON lines.
"""
import io
import json
import os
import sys
from urllib.parse import urlparse

import requests


def log(entry):
    with open(os.environ["FAKE_KAGGLE_LOG"], "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def times_asked(method):
    """Give how many times the API method has been asked, this request included (across kaggle commands)."""
    with open(os.environ["FAKE_KAGGLE_LOG"], encoding="utf-8") as f:
        return sum(json.loads(line).get("request") == method for line in f)


def read_body(request):
    """Give the request's JSON body as data, or a short description of an upload."""
    body = request.body
    if body is None:
        return None
    if not isinstance(body, (bytes, str)):  # a file being uploaded
        return f"<upload {type(body).__name__}>"
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return f"<{len(body)} bytes>"


def answer(session, request, **settings):
    """Stand in for requests.Session.send: answer from the canned responses, never from the network."""
    method = urlparse(request.url).path.rstrip("/").rsplit("/", 1)[-1]
    log({"request": method, "http": request.method, "url": request.url, "body": read_body(request)})
    with open(os.environ["FAKE_KAGGLE_ANSWERS"], encoding="utf-8") as f:
        canned = json.load(f).get(method, {})
    if isinstance(canned, dict) and "__sequence__" in canned:  # answers in turn (a run that ends), the last one again
        canned = canned["__sequence__"][min(times_asked(method), len(canned["__sequence__"])) - 1]
    response = requests.Response()
    response.status_code = 200
    response.url = request.url
    response.request = request
    if isinstance(canned, dict) and "__file__" in canned:  # a download: the file's bytes, from where it is served
        with open(canned["__file__"], "rb") as f:
            response._content = f.read()
        response.raw = io.BytesIO(response._content)
        response.headers.update({"Content-Type": "application/octet-stream",
                                 "Content-Length": str(len(response._content))})
        response.url = canned["url"]
    else:
        if isinstance(canned, dict) and "__status__" in canned:  # an HTTP error, e.g. 401 for a bad token
            response.status_code = canned.pop("__status__")
        response._content = json.dumps(canned).encode()
        response.headers["Content-Type"] = "application/json"
    return response


requests.Session.send = answer
sys.argv[0] = "kaggle"  # kaggle decides some things (anonymous access) from the program's name
log({"argv": sys.argv[1:]})
from kaggle.cli import main  # noqa: E402  (after the network is replaced: importing kaggle signs in)

sys.exit(main())
