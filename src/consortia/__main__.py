from consortia.cli import app

app()
