"""The scheduler: triggers from schedules, the engine (APScheduler) and its events.

Never imports textual or rich.
"""
