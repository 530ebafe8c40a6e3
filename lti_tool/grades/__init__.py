"""Grade passback: graded components as AGS line items, and a durable score outbox delivered by workers."""
