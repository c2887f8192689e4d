"""search_internet's page fetching: http(s) only, public addresses only, redirects too."""

import httpx
import pytest

from tools.url_policy import UrlRefused, check_url, guarded_client

PUBLIC = "http://93.184.215.14/page"  # an address literal: checked without DNS


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8080/admin", "127.0.0.1, not a public address"),
        ("http://localhost/", "not a public address"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://192.168.0.1/", "192.168.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "not a public address"),
        ("http://100.64.0.1/", "100.64.0.1"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://93.184.215.14/", "only http and https"),
    ],
)
def test_private_and_odd_urls_are_refused(url, problem):
    with pytest.raises(UrlRefused, match=problem.replace(".", r"\.")):
        check_url(url)


def test_public_addresses_pass_and_the_setting_lifts_the_address_check():
    check_url(PUBLIC)
    check_url("https://[2606:4700:4700::1111]/")
    check_url("http://127.0.0.1:8080/", allow_private=True)
    with pytest.raises(UrlRefused, match="only http"):
        check_url("file:///etc/passwd", allow_private=True)


def test_a_redirect_to_this_machine_is_refused():
    def site(request: httpx.Request) -> httpx.Response:  # a public page that redirects
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:9/secret"})

    client = guarded_client(transport=httpx.MockTransport(site), follow_redirects=True)
    with client, pytest.raises(UrlRefused, match=r"127\.0\.0\.1"):
        client.get(PUBLIC)
