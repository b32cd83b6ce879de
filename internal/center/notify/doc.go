// Package notify tells people about alerts: notification rules (minimum
// severity, alert rule ids, device tags) route each alert to channels,
// email over SMTP (STARTTLS and PLAIN auth) or webhooks (JSON POST signed
// with HMAC-SHA256, retried with backoff), with throttling per alert and
// per channel and a daily digest.
//
// Detection never waits for a notification: Notifier.Notify only enqueues
// into a bounded queue; a dispatcher routes, and one worker per channel
// delivers, so a dead or hanging channel delays nobody but itself.
// See docs/notifications.md.
package notify
