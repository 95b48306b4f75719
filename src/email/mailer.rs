//! Delivery: SMTP through lettre's pooled async transport, or `.eml` files in
//! an outbox directory when no SMTP server is configured.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MessageBuilder, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::config::{EmailSettings, SmtpSecurity};
use crate::notify::{CalendarAttachment, EmailPort, OutgoingEmail, SendError};

/// Sends emails; cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<MailerInner>,
}

struct MailerInner {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    delivery: Delivery,
}

enum Delivery {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// lettre's `max_size` only caps *idle* pooled connections: with more
        /// concurrent sends it opens more connections. This caps sessions.
        sessions: Semaphore,
    },
    Outbox {
        dir: PathBuf,
    },
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let delivery = match &self.inner.delivery {
            Delivery::Smtp { .. } => "smtp".to_owned(),
            Delivery::Outbox { dir } => format!("outbox {}", dir.display()),
        };
        f.debug_struct("Mailer")
            .field("from", &self.inner.from.to_string())
            .field("delivery", &delivery)
            .finish()
    }
}

impl Mailer {
    /// Builds the transport once. Must be called inside a Tokio runtime:
    /// lettre's pool spawns its cleanup task right away (and again on drop).
    pub fn new(settings: &EmailSettings) -> anyhow::Result<Mailer> {
        let from: Mailbox = settings
            .from
            .parse()
            .with_context(|| format!("email.from {:?} is not a valid address", settings.from))?;
        let reply_to =
            match settings.reply_to.trim() {
                "" => None,
                reply_to => Some(reply_to.parse::<Mailbox>().with_context(|| {
                    format!("email.reply_to {reply_to:?} is not a valid address")
                })?),
            };

        let delivery = if settings.smtp_host.trim().is_empty() {
            std::fs::create_dir_all(&settings.outbox_dir).with_context(|| {
                format!("cannot create outbox {}", settings.outbox_dir.display())
            })?;
            tracing::warn!(
                outbox = %settings.outbox_dir.display(),
                "no SMTP server configured (email.smtp_host is empty): emails are written as .eml files instead of being sent"
            );
            Delivery::Outbox {
                dir: settings.outbox_dir.clone(),
            }
        } else {
            tokio::runtime::Handle::try_current().context(
                "Mailer::new must run inside a Tokio runtime (lettre's pool spawns a task)",
            )?;
            Delivery::Smtp {
                transport: smtp_transport(settings)?,
                sessions: Semaphore::new(settings.pool_max_size.max(1) as usize),
            }
        };

        Ok(Mailer {
            inner: Arc::new(MailerInner {
                from,
                reply_to,
                delivery,
            }),
        })
    }

    /// The bare address emails come from: calendar invitations name it as ORGANIZER.
    pub fn from_address(&self) -> String {
        self.inner.from.email.to_string()
    }

    /// Sends one email (or writes it to the outbox).
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), SendError> {
        let message = self.build_message(email)?;
        match &self.inner.delivery {
            Delivery::Smtp {
                transport,
                sessions,
            } => {
                let _session = sessions
                    .acquire()
                    .await
                    .map_err(|_| SendError::Transient("mailer is shutting down".into()))?;
                transport.send(message).await.map_err(classify_smtp_error)?;
                // Never the subject or the body (a verification email carries a code): the
                // enclosing `notification` span names the row and its kind.
                tracing::debug!("email sent");
                Ok(())
            }
            Delivery::Outbox { dir } => {
                let path = write_eml(dir, &message.formatted()).await.map_err(|err| {
                    SendError::Transient(format!("cannot write to outbox {}: {err}", dir.display()))
                })?;
                tracing::info!(path = %path.display(), "email written to outbox");
                Ok(())
            }
        }
    }

    fn build_message(&self, email: &OutgoingEmail) -> Result<Message, SendError> {
        let to: Mailbox = email.to.trim().parse().map_err(|err| {
            SendError::Permanent(format!("invalid recipient address {:?}: {err}", email.to))
        })?;

        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            // lettre adds no Message-ID by itself; one on the sender's domain
            // (not this machine's hostname) looks less like spam.
            .message_id(Some(message_id(&self.inner.from)));
        builder = notification_headers(builder, &self.inner.from);
        if let Some(reply_to) = &self.inner.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }

        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(email.text.clone()))
            .singlepart(SinglePart::html(email.html.clone()));
        let message = match &email.calendar {
            None => builder.multipart(body),
            Some(calendar) => builder.multipart(with_calendar(body, calendar)),
        };
        message.map_err(|err| SendError::Permanent(format!("cannot build email: {err}")))
    }
}

/// Same layout as Google Calendar's own invitations:
///
/// multipart/mixed
/// ├─ multipart/alternative
/// │  ├─ text/plain
/// │  ├─ text/html
/// │  └─ text/calendar; method=REQUEST   ← Outlook/Gmail/Apple Mail turn this into an invitation card
/// └─ application/ics "masterclass.ics"  ← for clients that only offer attachments
///
/// Outlook recognises a meeting only from a text/calendar part with a method
/// inside the alternative; an .ics that is only an attachment is shown as a
/// file. The attachment is application/ics so that clients do not process the
/// same iTIP object twice. Both are base64: lettre would otherwise pick
/// quoted-printable, whose soft breaks interleave with iCalendar folding.
fn with_calendar(alternative: MultiPart, calendar: &CalendarAttachment) -> MultiPart {
    let method = calendar.method.as_str();
    let calendar_type =
        ContentType::parse(&format!("text/calendar; method={method}; charset=utf-8"))
            .expect("static content type parses");
    let attachment_type = ContentType::parse("application/ics; name=\"masterclass.ics\"")
        .expect("static content type parses");
    MultiPart::mixed()
        .multipart(
            alternative.singlepart(
                SinglePart::builder()
                    .header(calendar_type)
                    .body(base64_body(&calendar.ics)),
            ),
        )
        .singlepart(
            Attachment::new("masterclass.ics".to_owned())
                .body(base64_body(&calendar.ics), attachment_type),
        )
}

fn base64_body(text: &str) -> Body {
    Body::new_with_encoding(text.as_bytes().to_vec(), ContentTransferEncoding::Base64)
        .expect("base64 can encode any bytes")
}

fn smtp_transport(settings: &EmailSettings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let host = settings.smtp_host.trim();
    let builder = match settings.smtp_security {
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .with_context(|| format!("cannot set up TLS for {host}"))?,
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .with_context(|| format!("cannot set up STARTTLS for {host}"))?,
        SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    let port = match (settings.smtp_port, settings.smtp_security) {
        (0, SmtpSecurity::Tls) => 465,
        (0, SmtpSecurity::Starttls) => 587,
        (0, SmtpSecurity::Plain) => 25,
        (port, _) => port,
    };
    let mut builder = builder
        .port(port)
        .timeout(Some(Duration::from_secs(settings.timeout_seconds.max(1))))
        .pool_config(PoolConfig::new().max_size(settings.pool_max_size.max(1)));
    if !settings.smtp_username.is_empty() {
        builder = builder.credentials(Credentials::new(
            settings.smtp_username.clone(),
            settings.smtp_password.expose().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// Retry on anything that may fix itself (network, 4xx) or that an admin can
/// fix without the email being wrong (credentials); give up on 5xx replies.
fn classify_smtp_error(err: lettre::transport::smtp::Error) -> SendError {
    // Auth failures are 5xx but say nothing about this email: keep it queued.
    const AUTH_CODES: [&str; 4] = ["530", "534", "535", "538"];
    let message = err.to_string();
    match err.status() {
        Some(code) if err.is_permanent() && !AUTH_CODES.contains(&code.to_string().as_str()) => {
            SendError::Permanent(message)
        }
        _ => SendError::Transient(message),
    }
}

/// Tells mail providers this is an automatic notification: no auto-replies to it (RFC 3834), and
/// an unsubscribe they can offer (RFC 2369, mailto to the sender: whoever runs the bot reads it).
fn notification_headers(builder: MessageBuilder, from: &Mailbox) -> MessageBuilder {
    let raw = |name: &'static str, value: String| {
        HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
    };
    builder
        .raw_header(raw("Auto-Submitted", "auto-generated".to_owned()))
        .raw_header(raw(
            "List-Unsubscribe",
            format!("<mailto:{}?subject=unsubscribe>", from.email),
        ))
}

fn message_id(from: &Mailbox) -> String {
    let random: u128 = rand::thread_rng().gen();
    format!("<{random:032x}@{}>", from.email.domain())
}

/// Writes atomically (temp file + rename) so that whoever watches the outbox
/// never reads half an email.
async fn write_eml(dir: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let random: u64 = rand::thread_rng().gen();
    let stem = format!(
        "{}-{random:016x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let temp = dir.join(format!(".{stem}.tmp"));
    let path = dir.join(format!("{stem}.eml"));
    tokio::fs::write(&temp, bytes).await?;
    tokio::fs::rename(&temp, &path).await?;
    Ok(path)
}

impl EmailPort for Mailer {
    fn send(
        &self,
        email: &OutgoingEmail,
    ) -> impl std::future::Future<Output = Result<(), SendError>> + Send {
        Mailer::send(self, email)
    }

    fn sender_address(&self) -> String {
        self.from_address()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn debug_output_hides_the_password() {
        let settings = EmailSettings {
            smtp_password: Secret::new("hunter2"),
            ..EmailSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn smtp_mailer_outside_a_runtime_is_an_error_not_a_panic() {
        let settings = EmailSettings {
            smtp_host: "127.0.0.1".into(),
            ..EmailSettings::default()
        };
        assert!(Mailer::new(&settings).is_err());
    }

    #[test]
    fn settings_deserialize_with_defaults() {
        let settings: EmailSettings = serde_json::from_str(
            r#"{"smtp_host":"smtp.example.org","smtp_port":465,"smtp_security":"tls","smtp_password":"pw"}"#,
        )
        .unwrap();
        assert_eq!(settings.smtp_security, SmtpSecurity::Tls);
        assert_eq!(settings.smtp_password.expose(), "pw");
        assert_eq!(settings.pool_max_size, 4);
        assert_eq!(settings.outbox_dir, PathBuf::from("data/mail"));
    }
}
