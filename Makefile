.PHONY: demo test setup

# Set up, migrate, load the demo study, start the web server and a Celery worker.
demo:
	scripts/demo.sh

# The whole test suite (sets up .venv first if needed).
test:
	scripts/test.sh

setup:
	scripts/bootstrap.sh
