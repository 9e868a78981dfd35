"""The one settings object: every number from REVIEW_RULES is a setting with its rule as default.

Read from environment variables prefixed `PARTNER_REVIEW_` (e.g. `PARTNER_REVIEW_DATABASE_URL`).
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing import Annotated


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNER_REVIEW_", extra="ignore")

    # Storage
    data_dir: Path = Field(Path(".data"), description="Directory for the SQLite store and the sealing key.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; SQLite file in data_dir when unset.")
    secret_key: SecretStr | None = Field(
        None, description="Fernet key sealing stored secrets; generated into data_dir when unset."
    )

    # Webhook receiver
    webhook_secret: SecretStr = Field(SecretStr(""), description="Shared HMAC key for signed webhooks.")
    webhook_tolerance_seconds: int = Field(300, ge=1)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    api_token: SecretStr | None = Field(None, description="Bearer token for GET /submissions/{id}.")
    dispatch: str = Field(
        "deployment",
        pattern="^(deployment|local|off)$",
        description="How the receiver starts reviews: a Prefect deployment run, an in-process flow run, or not at all.",
    )
    review_deployment: str = Field("review-submission/review-submission")
    dispatch_interval_seconds: float = Field(5.0, gt=0)

    # Acknowledgment (REVIEW_RULES section 1)
    ack_business_days: int = Field(2, ge=0)
    holiday_country: str = "US"
    timezone: str = "America/Los_Angeles"

    # Notifications
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "partner-review@localhost"
    reviewers_email: str = "reviewers@localhost"

    # Catalog (REVIEW_RULES section 2)
    description_max_chars: int = 500
    description_max_images: int = 2
    oauth_max_redirect_uris: int = 5
    utm_query: str = "utm_source=segmentio&utm_medium=docs&utm_campaign=partners"
    catalog_url_prefix: str = "https://segment.com/catalog/integrations/"

    # Outbound HTTP (the safe client)
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="CIDRs the outbound client may reach despite the private-address guard."
    )

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'partner-review.db').resolve()}"


@functools.cache
def get_settings() -> Settings:
    return Settings()
