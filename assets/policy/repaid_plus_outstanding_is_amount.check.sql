-- Obligations whose repaid and outstanding amounts do not add up to the amount, or are negative.
SELECT obligation_id FROM repayment_schedule
WHERE repaid_amount + outstanding_amount <> amount OR repaid_amount < 0 OR outstanding_amount < 0
ORDER BY ALL
