from optimizer.cli import run

run()
