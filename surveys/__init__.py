"""Follow-up sentiment surveys: the loop that asks end users how a ticket felt.

The package decides when a ticket earns a survey (`triggers`), creates single-use links
(`tokens`), delivers them through the ticket itself, e-mail or chat (`channels`, `jobs`), serves
the answer page (`web`), reads the sentiment of what people write (`sentiment`), and hands the
answers to scoring and enrichment (`store`). Settings are validated by `config`.
"""
