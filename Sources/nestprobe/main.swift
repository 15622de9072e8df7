print("nestprobe")
