"""Helpers shared by the test suites that run real containers (importable as ``support`` from any test:
tests/conftest.py's directory is on sys.path).

- ``support.lab``: the lab image names (tests/lab/images.env), labelled containers, PostgreSQL and Redis.
- ``support.playbook_runner``: this collection's modules run through real Ansible (the integration tests; not
  the PyPI package ``ansible_runner``, whose name it used to shadow).
- ``support.stack``: a Chatwoot stack (the lab's contract double) started the way Docker Compose starts one.
"""
