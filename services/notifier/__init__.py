"""The notifier: consumes events, matches rules, sends messages through providers, and keeps a
log of every notification and its state."""
