"""Optional two-factor sign-in for managers: an authenticator app (TOTP, pyotp) and recovery codes."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp

from portal.extensions import db
from portal.models import TotpCredential, User

ISSUER = "物业投诉与回访"
RECOVERY_CODES = 10


def enabled(user: User) -> bool:
    return db.session.get(TotpCredential, user.id) is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """What an authenticator app reads (typed in as the secret, or from a QR code of this URI)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def _step_of(secret: str, code: str, at: float) -> int | None:
    """The 30-second step the code belongs to (this one or either neighbour), or None."""
    totp = pyotp.TOTP(secret)
    now = int(at // totp.interval)
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def _recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def confirm(user: User, secret: str, code: str, at: float | None = None) -> list[str] | None:
    """Switch two-factor on once the app shows the right code; returns the recovery codes (shown once)."""
    step = _step_of(secret, (code or "").strip(), at or time.time())
    if step is None:
        return None
    codes = _recovery_codes()
    cred = db.session.get(TotpCredential, user.id) or TotpCredential(user_id=user.id)
    cred.secret, cred.last_step = secret, step
    cred.recovery_hashes = "\n".join(_hash(c) for c in codes)
    db.session.add(cred)
    return codes


def verify(user: User, code: str, at: float | None = None) -> bool:
    """A current app code not used before, or an unused recovery code (which is then spent)."""
    cred = db.session.get(TotpCredential, user.id)
    code = (code or "").strip()
    if cred is None or not code:
        return False
    if code.isdigit() and len(code) == 6:
        step = _step_of(cred.secret, code, at or time.time())
        if step is None or step <= cred.last_step:
            return False
        cred.last_step = step
        return True
    hashes = [h for h in cred.recovery_hashes.splitlines() if h]
    wanted = _hash(code)
    if wanted not in hashes:
        return False
    hashes.remove(wanted)
    cred.recovery_hashes = "\n".join(hashes)
    return True


def remaining_recovery_codes(user: User) -> int:
    cred = db.session.get(TotpCredential, user.id)
    return len([h for h in cred.recovery_hashes.splitlines() if h]) if cred else 0


def disable(user: User) -> None:
    cred = db.session.get(TotpCredential, user.id)
    if cred is not None:
        db.session.delete(cred)
