"""The Instagram publisher against a fake instagrapi client at its public-method boundary."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
from instagrapi import exceptions as ig
from instagrapi.mixins.challenge import ChallengeChoice
from PIL import Image
from requests.adapters import BaseAdapter

from bot.publishers.base import Draft, hashtags_in
from bot.publishers.errors import AuthError, MaybeSent, NotSent, PublishError, RateLimited
from bot.publishers.instagram import TIMEOUT, InstagramPublisher, default_client, fit_image
from core.artwork import Artwork
from storage.db import Database
from storage.files import ImageStore
from tests.fakes import SECRETS, FakeInstagram, fake_settings, store_sample_artwork


@pytest.fixture
def server() -> FakeInstagram:
    return FakeInstagram()


@pytest.fixture
def artwork(data_dir: Path) -> Artwork:
    db = Database.open(f"sqlite:///{data_dir / 'kavi.db'}")
    try:
        return store_sample_artwork(db, ImageStore(data_dir))
    finally:
        db.close()


def make_publisher(
    data_dir: Path, server: FakeInstagram, **overrides: object
) -> InstagramPublisher:
    settings = fake_settings(data_dir, "instagram", **{"instagram_totp_secret": None, **overrides})
    return InstagramPublisher(settings, client_factory=server.client)


@pytest.fixture
def publisher(data_dir: Path, server: FakeInstagram) -> InstagramPublisher:
    return make_publisher(data_dir, server)


@pytest.fixture
def draft(publisher: InstagramPublisher, artwork: Artwork, data_dir: Path) -> Draft:
    assert artwork.image_path is not None
    return publisher.fit(artwork, data_dir / artwork.image_path)


def test_fit_makes_a_1080_jpeg_with_five_hashtags(draft: Draft, artwork: Artwork) -> None:
    with Image.open(io.BytesIO(draft.media)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert image.size == (1080, 1080)
    assert len(hashtags_in(artwork.caption)) == 6
    assert hashtags_in(draft.caption) == ["#haiku", "#aiart", "#generativeart", "#poetry", "#kavi"]
    assert draft.caption.startswith(artwork.poem)
    assert draft.alt_text == artwork.alt_text
    assert draft.filename == "artwork.jpg"


@pytest.mark.parametrize(
    ("size", "expected"), [((300, 600), (1080, 1350)), ((900, 300), (1080, 566))]
)
def test_fit_image_pads_into_the_allowed_aspect_range(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    fitted = fit_image(Image.new("RGB", size, (200, 30, 30)))
    assert fitted.size == expected
    assert 0.8 <= fitted.width / fitted.height <= 1.91
    # Padding, never cropping: the painting's colour survives at the centre.
    assert fitted.getpixel((540, fitted.height // 2)) == (200, 30, 30)


def test_fit_caps_the_caption_at_2200_characters(
    publisher: InstagramPublisher, artwork: Artwork, data_dir: Path
) -> None:
    long = Artwork(**{**artwork.__dict__, "caption": "word " * 1000 + "\n\n#haiku"})
    assert long.image_path is not None
    assert len(publisher.fit(long, data_dir / long.image_path).caption) <= 2200


def test_first_post_logs_in_and_saves_the_session_privately(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft, data_dir: Path
) -> None:
    result = publisher.publish(draft)

    (media,) = server.medias
    assert result.remote_id == media["pk"]
    assert result.url == f"https://www.instagram.com/p/{media['code']}/"
    assert media["caption"] == draft.caption and media["alt"] == draft.alt_text
    assert server.password_logins == 1
    session = data_dir / "sessions" / "instagram.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert stat.S_IMODE(session.parent.stat().st_mode) == 0o700
    saved = session.read_text()
    assert json.loads(saved)["authorization_data"]["sessionid"] in server.sessions
    assert SECRETS["INSTAGRAM_PASSWORD"] not in saved


def test_the_saved_session_is_reused(server: FakeInstagram, data_dir: Path, draft: Draft) -> None:
    make_publisher(data_dir, server).publish(draft)
    server.calls.clear()
    make_publisher(data_dir, server).publish(draft)
    assert server.password_logins == 1
    assert server.calls[:2] == ["load_settings", "login:session"]


def test_an_expired_session_logs_in_with_the_password_again(
    server: FakeInstagram, data_dir: Path, draft: Draft
) -> None:
    make_publisher(data_dir, server).publish(draft)
    server.expire_sessions()
    make_publisher(data_dir, server).publish(draft)
    assert server.password_logins == 2
    session = json.loads((data_dir / "sessions" / "instagram.json").read_text())
    assert session["authorization_data"]["sessionid"] in server.sessions


def test_a_session_refused_outright_falls_back_to_a_fresh_login_on_the_same_device(
    server: FakeInstagram, data_dir: Path, draft: Draft
) -> None:
    make_publisher(data_dir, server).publish(draft)
    device = json.loads((data_dir / "sessions" / "instagram.json").read_text())["uuids"]
    server.fail("login", ig.LoginRequired("login_required"))
    make_publisher(data_dir, server).publish(draft)
    saved = json.loads((data_dir / "sessions" / "instagram.json").read_text())
    assert saved["uuids"] == device and server.password_logins == 2


def test_an_unreadable_session_file_is_ignored(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft, data_dir: Path
) -> None:
    session = data_dir / "sessions" / "instagram.json"
    session.parent.mkdir(parents=True)
    session.write_text("{not json")
    publisher.publish(draft)
    assert server.password_logins == 1 and "load_settings" not in server.calls


def test_two_factor_uses_the_totp_secret(data_dir: Path, artwork: Artwork, draft: Draft) -> None:
    server = FakeInstagram(totp_secret=SECRETS["INSTAGRAM_TOTP_SECRET"])
    with pytest.raises(AuthError, match="INSTAGRAM_TOTP_SECRET"):
        make_publisher(data_dir, server).publish(draft)
    publisher = make_publisher(
        data_dir, server, instagram_totp_secret=SECRETS["INSTAGRAM_TOTP_SECRET"]
    )
    publisher.publish(draft)
    assert len(server.medias) == 1


def test_a_challenge_is_a_clear_permanent_failure(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft
) -> None:
    server.challenge = True
    with pytest.raises(AuthError) as info:
        publisher.publish(draft)
    assert "Instagram app" in str(info.value) and "retry" in str(info.value)
    assert not isinstance(info.value, NotSent)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ig.BadPassword("bad password"), AuthError),
        (ig.AccountSuspended("suspended"), AuthError),
        (ig.PleaseWaitFewMinutes("Please wait a few minutes"), RateLimited),
        (ig.ClientConnectionError("connection refused"), NotSent),
        (requests.ReadTimeout("read timed out"), NotSent),
        (requests.ConnectionError("connection reset by peer"), NotSent),
        (ig.FeedbackRequired("feedback_required"), PublishError),
    ],
)
def test_login_errors(
    server: FakeInstagram,
    publisher: InstagramPublisher,
    draft: Draft,
    error: Exception,
    expected: type[Exception],
) -> None:
    server.fail("login", error)
    with pytest.raises(expected):
        publisher.publish(draft)
    assert server.medias == []


def test_a_broken_upload_may_have_gone_out_and_is_found_again(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft
) -> None:
    server.fail("photo_upload", ig.ClientConnectionError("reset by peer"), after_posting=True)
    with pytest.raises(MaybeSent):
        publisher.publish(draft)
    found = publisher.find_existing(draft)
    assert found is not None and found.remote_id == server.medias[0]["pk"]


@pytest.mark.parametrize(
    "error", [ig.ClientConnectionError("reset by peer"), requests.ReadTimeout("read timed out")]
)
def test_a_network_error_before_configure_is_not_sent(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft, error: Exception
) -> None:
    # The photo upload broke before instagrapi asked Instagram to make the post.
    server.fail("photo_upload", error)
    with pytest.raises(NotSent):
        publisher.publish(draft)
    assert server.medias == []
    # Nothing is left patched on the client: the next post goes through.
    assert publisher.publish(draft).remote_id == server.medias[0]["pk"]


@pytest.mark.parametrize(
    "error",
    [
        # What instagrapi 3.2 raises when the configure call returned no media to show.
        ig.PhotoConfigureError(
            "Photo upload configure succeeded without media payload and uploaded media was "
            "not visible"
        ),
        requests.ReadTimeout("read timed out"),
    ],
)
def test_an_unconfirmed_upload_may_have_gone_out(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft, error: Exception
) -> None:
    server.fail("photo_upload", error, after_posting=True)
    with pytest.raises(MaybeSent):
        publisher.publish(draft)
    assert publisher.find_existing(draft) is not None


def test_a_refused_photo_is_a_permanent_failure(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft
) -> None:
    server.fail("photo_upload", ig.PhotoNotUpload("invalid image"))
    with pytest.raises(PublishError) as info:
        publisher.publish(draft)
    assert not isinstance(info.value, MaybeSent | NotSent)


def test_a_session_expiring_mid_upload_is_not_sent_and_relogs_next_time(
    server: FakeInstagram, publisher: InstagramPublisher, draft: Draft
) -> None:
    publisher.find_existing(draft)  # logged in
    server.expire_sessions()
    with pytest.raises(NotSent, match="session expired"):
        publisher.publish(draft)
    publisher.publish(draft)
    assert server.password_logins == 2 and len(server.medias) == 1


def test_find_existing_returns_none_when_absent(
    publisher: InstagramPublisher, draft: Draft
) -> None:
    assert publisher.find_existing(draft) is None


def test_a_malformed_totp_secret_is_named(
    server: FakeInstagram, data_dir: Path, draft: Draft
) -> None:
    publisher = make_publisher(data_dir, server, instagram_totp_secret="not base32 at all!")
    with pytest.raises(AuthError, match="INSTAGRAM_TOTP_SECRET is not a valid"):
        publisher.publish(draft)


class RecordingAdapter(BaseAdapter):
    """A requests transport that records each request's timeout and answers, or raises."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.error = error
        self.timeouts: list[object] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        self.timeouts.append(timeout)
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code = 200
        response.url = request.url or ""
        response.request = request
        response._content = b'{"status": "ok"}'
        return response

    def close(self) -> None:
        pass


def real_client(adapter: RecordingAdapter) -> Any:
    client = default_client()
    client.delay_range = None
    client.request_timeout = 0  # instagrapi's pause before each request
    for session in (client.private, client.public):
        session.mount("https://", adapter)
    return client


def test_every_instagrapi_request_has_a_timeout() -> None:
    adapter = RecordingAdapter()
    client = real_client(adapter)
    client.private_request("accounts/current_user/", params={"edit": "true"})
    client.public.get("https://www.instagram.com/", timeout=None)
    client.public.get("https://www.instagram.com/", timeout=3.0)
    assert adapter.timeouts == [TIMEOUT, TIMEOUT, 3.0]


def test_instagrapi_lets_a_read_timeout_through_unwrapped() -> None:
    # Why _map_error must know requests' own errors, not only instagrapi's.
    client = real_client(RecordingAdapter(requests.ReadTimeout("read timed out")))
    with pytest.raises(requests.ReadTimeout):
        client.private_request("accounts/current_user/", params={"edit": "true"})


def test_the_client_never_waits_for_a_code_typed_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_input(prompt: str = "") -> str:
        raise AssertionError(f"instagrapi asked for input: {prompt}")

    monkeypatch.setattr("builtins.input", no_input)
    client = default_client()
    with pytest.raises(ig.ChallengeRequired, match="unattended"):
        client.challenge_code_or_raised(ChallengeChoice.EMAIL)
    client.last_json = {"challenge_context": "{}"}
    with pytest.raises(ig.ChallengeRequired, match="unattended"):
        client._challenge_resolve_change_password()
