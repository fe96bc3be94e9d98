"""Reminders that reach people (issue 18): today's reminders computed once, the county's channels (e-mail over
SMTP, 企业微信 and 钉钉 group robots), deliveries reserved once a day and sent with retries, and their log."""
