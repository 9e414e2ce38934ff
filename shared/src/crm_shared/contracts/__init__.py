"""Public event contracts: what other systems may rely on. Pydantic models, one module per context.

Topics are named ``crm.<context>.<aggregate>.v<N>``; event types ``crm.<context>.<EventName>``.
"""
