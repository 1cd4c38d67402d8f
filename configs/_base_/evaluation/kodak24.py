# Test on Kodak24 (500x500 crops), with the same protocol as ./cbsd68.py.
_base_ = ['./cbsd68.py']
test_dataloader = dict(dataset=dict(data_prefix=dict(img_path='Kodak24')))
