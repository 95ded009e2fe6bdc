"""header_spellings and certificate_problems (filters of the nginx role)."""

from __future__ import annotations

import pytest

from ansible_collections.selfhost.chatwoot.plugins.filter.nginx_proxy import certificate_problems, header_spellings


def puma_key(name: str) -> str:
    """How Puma (and CGI) name a request header in the Rack environment."""
    return "HTTP_" + name.upper().replace("-", "_")


def test_every_spelling_puma_folds_together_is_listed():
    spellings = header_spellings(["X-Cluster-Client-IP"])
    assert spellings[0] == "X-Cluster-Client-IP"
    assert len(spellings) == 8
    assert {puma_key(s) for s in spellings} == {"HTTP_X_CLUSTER_CLIENT_IP"}
    assert "X_Cluster-Client_IP" in spellings


@pytest.mark.parametrize(("name", "count"), [("Forwarded", 1), ("Client-IP", 2), ("X-Forwarded-For", 4)])
def test_count_is_two_to_the_number_of_separators(name, count):
    assert len(header_spellings([name])) == count


def test_no_duplicates_across_names_and_cases():
    assert header_spellings(["X-Real-IP", "x_real_ip", "Forwarded"]) == [
        "X-Real-IP",
        "X-Real_IP",
        "X_Real-IP",
        "X_Real_IP",
        "Forwarded",
    ]


ACME = {
    "subject_alt_name": ["DNS:chat.example.com", "DNS:www.chat.example.com"],
    "subject_ordered": [["commonName", "chat.example.com"]],
    "issuer_ordered": [["countryName", "US"], ["commonName", "R11"]],
    "expired": False,
}


def test_a_fitting_certificate_has_no_problem():
    assert certificate_problems(ACME, ["www.chat.example.com", "Chat.example.com"]) == []


def test_an_added_name_needs_a_new_certificate():
    problems = certificate_problems(ACME, ["chat.example.com", "www.chat.example.com", "help.example.com"])
    assert problems == [
        "it names chat.example.com, www.chat.example.com, the configuration "
        "chat.example.com, help.example.com, www.chat.example.com"
    ]


def test_a_removed_name_needs_one_too():
    assert certificate_problems(ACME, ["chat.example.com"])


def test_a_self_signed_certificate_needs_one():
    selfsigned = {**ACME, "issuer_ordered": ACME["subject_ordered"]}
    assert certificate_problems(selfsigned, ["chat.example.com", "www.chat.example.com"]) == [
        "it is self-signed, not issued by the ACME CA"
    ]


def test_an_expired_certificate_needs_one():
    assert certificate_problems({**ACME, "expired": True}, ["chat.example.com", "www.chat.example.com"]) == [
        "it has expired"
    ]


def test_a_certificate_without_names():
    assert certificate_problems({"subject_ordered": [], "issuer_ordered": [["commonName", "CA"]]}, ["a.example"]) == [
        "it names nothing, the configuration a.example"
    ]
