# ps5_sgd: each epoch walks through a fresh shuffle of the data instead of sampling with replacement
# %% sgd_solution
def sgd_update(trainables, learning_rate=1e-2):
    for t in trainables:
        partial = t.gradients[t]
        t.value = t.value - learning_rate * partial
# %% train_solution
def train(X_data, y_data, n_hidden=10, epochs=100, batch_size=11, learning_rate=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X, y = Input(), Input()
    W1, b1, W2, b2 = Input(), Input(), Input(), Input()
    l1 = Linear(X, W1, b1)
    s1 = Sigmoid(l1)
    l2 = Linear(s1, W2, b2)
    cost = MSE(y, l2)
    feed_dict = {X: X_data, y: y_data, W1: rng.standard_normal((X_data.shape[1], n_hidden)),
                 b1: np.zeros(n_hidden), W2: rng.standard_normal((n_hidden, 1)), b2: np.zeros(1)}
    graph = topological_sort(feed_dict)
    steps = len(y_data) // batch_size
    for epoch in range(epochs):
        order = rng.permutation(len(y_data))
        for step in range(steps):
            rows = order[step * batch_size:(step + 1) * batch_size]
            X.value, y.value = X_data[rows], y_data[rows]
            forward_and_backward(graph)
            sgd_update([W1, b1, W2, b2], learning_rate)
    return W1.value, b1.value, W2.value, b2.value
