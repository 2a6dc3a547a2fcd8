"""The AWS deployment: the merge template, the Lambda package, the sandbox that checks both."""
