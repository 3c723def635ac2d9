from source_listrak.run import run

if __name__ == "__main__":
    run()
