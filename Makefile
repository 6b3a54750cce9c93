.PHONY: demo serve test setup

# Set up, migrate, load the demo study, start the web server and a Celery worker.
demo:
	scripts/demo.sh

# The production-shaped stack (gunicorn + Celery worker + beat on PostgreSQL and Redis) from
# environment variables; see README "Deployment" and scripts/production.env.example.
serve:
	scripts/serve.sh

# The whole test suite (sets up .venv first if needed).
test:
	scripts/test.sh

setup:
	scripts/bootstrap.sh
