timeout: failed to run command ‘c/build/consumer’: No such file or directory
c consumer exit 127
