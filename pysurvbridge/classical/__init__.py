"""Classical recurrent-event models: R engine and native engine."""
