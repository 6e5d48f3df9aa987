"""The scheduler: fires periodic jobs as events on `joist.events.schedule.<job>`."""
