"""Local Lambda runtime: what AWS Lambda does for the app's non-HTTP handlers, in-process.

``chalice local`` serves HTTP routes only; this package polls Kinesis for
``on_kinesis_record`` handlers, runs ``@app.schedule`` handlers and invokes functions.
"""
